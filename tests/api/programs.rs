//! Programs: create, read, change design, tiers, earn rules and rewards.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(program_lifecycle, |app: TestApp| async move {
    let r = app
        .create_program(&app.admin, json!({"name": "Bean There", "organization": "Bean There Coffee", "design": {"colors": {"background": "#102030"}}}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["pass_type_id"], PASS_TYPE_ID,
        "defaults to the certificate's pass type id"
    );
    assert_eq!(r.body["team_id"], TEAM_ID);
    assert_eq!(r.body["design"]["colors"]["background"], "#102030");
    assert_eq!(r.body["design_version"], 1);

    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/programs/{id}"),
            Some(&app.admin),
            Some(&json!({"name": "Bean There Rewards"})),
            &[],
        )
        .await;
    assert_eq!(r.body["name"], "Bean There Rewards");
    assert_eq!(r.body["design_version"], 2);

    let design = json!({
        "colors": {"background": "rgb(10, 20, 30)", "foreground": "#fff", "label": "#ccc"},
        "layout": {"header": ["points"], "primary": [], "secondary": ["name", "tier"], "auxiliary": [], "back": ["member_number"]},
        "labels": {"points": "Beans"},
        "change_messages": {"points": "Your beans: %@"},
        "languages": ["en", "fr"],
        "localizations": {"fr": {"Beans": "Grains"}}
    });
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{id}/design"),
            Some(&app.admin),
            Some(&design),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["design"]["labels"]["points"], "Beans");
    assert_eq!(r.body["design"]["colors"]["background"], "#0a141e");

    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{id}/earn_rules"),
            Some(&app.admin),
            Some(&json!({"points_per_unit": "2", "multipliers": {"beans": "1.5"}})),
            &[],
        )
        .await;
    assert_eq!(r.body["earn_rules"]["multipliers"]["beans"], "1.5");

    // Tiers change: members move with them.
    let member = app.member(&id, "Ada").await;
    app.earn(&member, &app.admin, "t1", json!({"amount": 100}))
        .await; // 200 points at 2/unit
    let tiers = json!([{"name": "Green", "threshold": 0}, {"name": "Gold", "threshold": 150, "design": {"background_color": "#aa8800"}}]);
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{id}/tiers"),
            Some(&app.admin),
            Some(&tiers),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let m = app
        .get(&format!("/api/v1/members/{member}"), &app.admin)
        .await;
    assert_eq!(m.body["tier"], "Gold");
    let pass = crate::passes::assert_valid_pkpass(
        &app.get(&format!("/api/v1/members/{member}/pass"), &app.admin)
            .await
            .bytes,
    );
    assert_eq!(
        pass["backgroundColor"], "rgb(170, 136, 0)",
        "tier design override"
    );
    assert_eq!(pass["storeCard"]["headerFields"][0]["label"], "Beans");
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{id}/tiers"),
            Some(&app.admin),
            Some(&json!([])),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let m = app
        .get(&format!("/api/v1/members/{member}"), &app.admin)
        .await;
    assert!(m.body["tier"].is_null());

    // Rewards.
    let r = app
        .post(
            &format!("/api/v1/programs/{id}/rewards"),
            &app.admin,
            json!({"name": "Free coffee", "cost": 100, "repeatable": true}),
        )
        .await;
    assert_eq!(r.status, 201);
    let reward = r.body["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/programs/{id}/rewards"),
        &app.admin,
        json!({"name": "Mug", "cost": 900}),
    )
    .await;
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{id}/rewards/{reward}"),
            Some(&app.admin),
            Some(&json!({"name": "Free coffee", "cost": 120, "repeatable": true, "active": false})),
            &[],
        )
        .await;
    assert_eq!(
        (r.body["cost"].as_i64(), r.body["active"].as_bool()),
        (Some(120), Some(false))
    );
    let list = app
        .get(&format!("/api/v1/programs/{id}/rewards"), &app.admin)
        .await;
    assert_eq!(list.body["rewards"].as_array().unwrap().len(), 2);
    let r = app
        .post(
            &format!("/api/v1/programs/{id}/rewards"),
            &app.admin,
            json!({"name": "Nothing", "cost": -1}),
        )
        .await;
    r.assert_refused(422, "validation_failed", Some("cost"));
});

#[tokio::test]
async fn openapi_document_is_served() {
    let app = spawn_app(Engine::Sqlite, "openapi").await.unwrap();
    let r = reply(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let health = reply(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(health.body["status"], "ready");
}
