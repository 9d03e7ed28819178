//! Members, their passes and points answer as docs/openapi.json says (openapi.rs has the
//! checker; openapi_answers.rs makes the program and calls this).

use serde_json::{json, Value};

use crate::openapi::*;

/// Enrolls members of the program at `p` (its API path) and goes through their passes,
/// points, consent, messages, re-issue and voiding, checking every answer. Returns the id of
/// the (voided) member the rest of the story uses.
pub async fn members_passes_and_points(api: &Api<'_>, p: &str) -> String {
    let app = api.app;
    // Members.
    let members = format!("{p}/members");
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/members",
            &members,
            Some(json!({
                "name": "Ada",
                "external_id": "crm-1",
                "email": "ada@example.com",
                "phone": "+49 151 1234-5678",
                "consent": {"email": true, "sms": true}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let member = r.body["id"].as_str().unwrap().to_string();
    let pass_url = r.body["pass_url"].as_str().unwrap().to_string();
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/members",
            &members,
            Some(json!({"name": "Bob"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/members",
            &members,
            Some(json!({"name": "Eve", "external_id": "crm-1"})),
        )
        .await;
    assert_eq!(r.code(), "external_id_taken");
    let list = "/api/v1/programs/{id}/members";
    let r = api
        .call("GET", list, &format!("{members}?limit=1"), None)
        .await;
    assert_eq!(r.status, 200);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .call(
            "GET",
            list,
            &format!("{members}?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["next_cursor"]),
        (200, &Value::Null)
    );
    let r = api
        .call(
            "GET",
            list,
            &format!("{members}?status=active&external_id=crm-1"),
            None,
        )
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    for (query, code) in [
        ("limit=0", "validation_failed"),
        ("limit=501", "validation_failed"),
        ("status=deleted", "validation_failed"),
        ("cursor=zzz", "validation_failed"),
        ("limit=abc", "invalid_query"),
        ("order=name", "invalid_query"),
        ("sort=height", "validation_failed"),
    ] {
        let r = api
            .call("GET", list, &format!("{members}?{query}"), None)
            .await;
        assert_eq!(r.code(), code, "{query}");
    }

    let m = format!("/api/v1/members/{member}");
    assert_eq!(
        api.call("GET", "/api/v1/members/{id}", &m, None)
            .await
            .status,
        200
    );
    let r = api
        .call(
            "PATCH",
            "/api/v1/members/{id}",
            &m,
            Some(json!({"phone": null, "name": "Ada L."})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["consent"], json!({"email": true, "sms": false}));

    // The member's pass, and the public download link.
    let r = api
        .call(
            "GET",
            "/api/v1/members/{id}/pass",
            &format!("{m}/pass"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let modified = header(&r, "Last-Modified").to_string();
    let r = api
        .send(
            "GET",
            "/api/v1/members/{id}/pass",
            &format!("{m}/pass"),
            Some(app.admin.as_str()),
            None,
            &[("If-Modified-Since", &modified)],
        )
        .await;
    assert_eq!(r.status, 304);
    let download = pass_url.strip_prefix(&app.address).unwrap().to_string();
    let public = "/passes/{token}.pkpass";
    let r = api.send("GET", public, &download, None, None, &[]).await;
    assert_eq!(r.status, 200);
    let r = api
        .send(
            "GET",
            public,
            &download,
            None,
            None,
            &[("If-Modified-Since", header(&r, "Last-Modified"))],
        )
        .await;
    assert_eq!(r.status, 304);

    // Points: applied (201), replayed (200), refused without a key.
    let earn = "/api/v1/members/{id}/earn";
    let purchase = json!({"amount": "12.50", "product_types": ["coffee"], "reason": "Order 1"});
    let key = [("Idempotency-Key", "order-1")];
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(purchase.clone()),
            &key,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(header(&r, "Idempotent-Replayed"), "false");
    assert_eq!(r.body["entry"]["amount"], 37);
    assert_eq!(r.body["tier_changed"], true);
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(purchase.clone()),
            &key,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "Idempotent-Replayed"), "true");
    assert_eq!(r.body["replayed"], true);
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(json!({"amount": 3})),
            &key,
        )
        .await;
    assert_eq!(r.code(), "idempotency_key_reused");
    let r = api
        .call(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(r.code(), "idempotency_key_required");
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(json!({"amount": -1})),
            &[("Idempotency-Key", "order-2")],
        )
        .await;
    assert_eq!(r.code(), "invalid_body");
    let adjust = "/api/v1/members/{id}/adjust";
    let r = api
        .send(
            "POST",
            adjust,
            &format!("{m}/adjust"),
            Some(app.admin.as_str()),
            Some(json!({"points": -7, "reason": "Correction"})),
            &[("Idempotency-Key", "adj-1")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api
        .send(
            "POST",
            adjust,
            &format!("{m}/adjust"),
            Some(app.admin.as_str()),
            Some(json!({"points": -1000, "reason": "Too much"})),
            &[("Idempotency-Key", "adj-2")],
        )
        .await;
    assert_eq!(r.code(), "insufficient_points");
    let ledger = "/api/v1/members/{id}/ledger";
    let r = api
        .call("GET", ledger, &format!("{m}/ledger?limit=1"), None)
        .await;
    assert_eq!(r.status, 200);
    let before = r.body["next_before"].as_i64().unwrap();
    let r = api
        .call("GET", ledger, &format!("{m}/ledger?before={before}"), None)
        .await;
    assert_eq!(r.body["next_before"], Value::Null);
    let r = api
        .call("GET", ledger, &format!("{m}/ledger?before=x"), None)
        .await;
    assert_eq!(r.code(), "invalid_query");

    // Consent and messages (api/messages.rs).
    let consent = "/api/v1/members/{id}/consent";
    let r = api
        .call("GET", consent, &format!("{m}/consent"), None)
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.body["history"].as_array().unwrap().is_empty());
    let messages = "/api/v1/members/{id}/messages";
    let r = api
        .call("GET", messages, &format!("{m}/messages"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call("GET", messages, &format!("{m}/messages?limit=0"), None)
        .await;
    assert_eq!(r.code(), "validation_failed");

    // Re-issuing: a new download link, the old one dead.
    let reissue = "/api/v1/members/{id}/reissue";
    let r = api
        .call("POST", reissue, &format!("{m}/reissue"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = api.send("GET", public, &download, None, None, &[]).await;
    r.assert_refused(404, "not_found", None);

    // Voiding: changes are refused, and so is a re-issue.
    let void = "/api/v1/members/{id}/void";
    let r = api.call("POST", void, &format!("{m}/void"), None).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["status"]),
        (200, &json!("voided"))
    );
    let r = api
        .call("POST", reissue, &format!("{m}/reissue"), None)
        .await;
    assert_eq!(r.code(), "member_voided");
    let r = api.call("POST", void, &format!("{m}/void"), None).await;
    assert_eq!(r.status, 200);
    let r = api.send("GET", public, &download, None, None, &[]).await;
    r.assert_refused(404, "not_found", None);
    let r = api
        .call(
            "PATCH",
            "/api/v1/members/{id}",
            &m,
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(r.code(), "member_voided");
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(json!({"amount": 1})),
            &[("Idempotency-Key", "order-3")],
        )
        .await;
    assert_eq!(r.code(), "member_voided");
    member
}
