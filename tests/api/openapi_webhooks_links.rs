//! Webhooks and links answer as docs/openapi.json says (openapi.rs has the checker).

use serde_json::json;

use crate::helpers::*;
use crate::openapi::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_answers_match_the_document() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::webhook_answers_match").await else {
        return;
    };
    let doc = document();
    let api = Api::new(&app, &doc);
    let program = app.sample_program().await;
    let hooks = format!("/api/v1/programs/{program}/webhooks");
    let collection = "/api/v1/programs/{id}/webhooks";
    let r = api
        .call(
            "POST",
            collection,
            &hooks,
            Some(json!({"url": "http://127.0.0.1:9/in", "events": ["points.changed"], "description": "CRM"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            "POST",
            collection,
            &hooks,
            Some(json!({"url": "mailto:x@example.com"})),
        )
        .await;
    assert_eq!(r.code(), "validation_failed");
    let r = api
        .call(
            "POST",
            collection,
            &hooks,
            Some(json!({"url": "https://e.com/", "events": "points.changed"})),
        )
        .await;
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(api.call("GET", collection, &hooks, None).await.status, 200);
    let one = "/api/v1/webhooks/{id}";
    let path = format!("/api/v1/webhooks/{id}");
    assert_eq!(api.call("GET", one, &path, None).await.status, 200);
    let r = api
        .call(
            "PATCH",
            one,
            &path,
            Some(json!({"events": ["*"], "active": false, "description": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call("PATCH", one, &path, Some(json!({"active": "yes"})))
        .await;
    assert_eq!(r.code(), "invalid_body");
    let rotate = "/api/v1/webhooks/{id}/rotate-secret";
    let r = api
        .call("POST", rotate, &format!("{path}/rotate-secret"), None)
        .await;
    assert_eq!(r.status, 200);
    // One delivered event, so a delivery record is checked against its schema too.
    let r = api
        .call("PATCH", one, &path, Some(json!({"active": true})))
        .await;
    assert_eq!(r.status, 200);
    let member = app.member(&program, "Ada").await;
    let r = app
        .adjust(&member, "openapi-hook", json!({"points": 3, "reason": "x"}))
        .await;
    assert_eq!(r.status, 201);
    app.state.outbox.drain().await.unwrap();
    let deliveries = "/api/v1/webhooks/{id}/deliveries";
    let r = api
        .call(
            "GET",
            deliveries,
            &format!("{path}/deliveries?limit=10"),
            None,
        )
        .await;
    assert_eq!(
        r.body["deliveries"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    let r = api
        .call(
            "GET",
            deliveries,
            &format!("{path}/deliveries?limit=x"),
            None,
        )
        .await;
    assert_eq!(r.code(), "invalid_query");
    assert_eq!(api.call("DELETE", one, &path, None).await.status, 204);
    api.call("DELETE", one, &path, None)
        .await
        .assert_refused(404, "not_found", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_answers_match_the_document() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::link_answers_match").await else {
        return;
    };
    let doc = document();
    let api = Api::new(&app, &doc);
    let program = app.sample_program().await;
    let spring = crate::landing::campaign(&app, &program, "print").await;
    let collection = "/api/v1/programs/{id}/links";
    let links = format!("/api/v1/programs/{program}/links");
    let body = json!({"campaign_id": spring, "channel": "print", "label": "Poster"});
    let r = api.call("POST", collection, &links, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_string();
    let r = api
        .call("POST", collection, &links, Some(json!({"channel": "fax"})))
        .await;
    assert_eq!(r.code(), "validation_failed");
    let member = app.member(&program, "Ada").await;
    let card = "/api/v1/members/{id}/links";
    let path = format!("/api/v1/members/{member}/links");
    assert_eq!(
        api.call("POST", card, &path, Some(json!({}))).await.status,
        201
    );
    assert_eq!(
        api.call("POST", card, &path, Some(json!({}))).await.status,
        200
    );
    let r = api
        .call(
            "GET",
            collection,
            &format!("{links}?member_id={member}"),
            None,
        )
        .await;
    assert_eq!(r.body["links"].as_array().unwrap().len(), 1);
    let r = api
        .call("GET", collection, &format!("{links}?limit=0"), None)
        .await;
    assert_eq!(r.code(), "validation_failed");
    let one = "/api/v1/links/{code}";
    let path = format!("/api/v1/links/{code}");
    assert_eq!(api.call("GET", one, &path, None).await.status, 200);
    assert_eq!(api.call("DELETE", one, &path, None).await.status, 204);
    let r = api.call("GET", one, &path, None).await;
    assert!(r.body["revoked_at"].is_string());
}
