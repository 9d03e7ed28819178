//! Members: enrollment, paging, updates, external ids.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(enroll_list_update, |app: TestApp| async move {
    let program = app.sample_program().await;
    let r = app
        .enroll(&program, json!({"name": "Ada", "external_id": "crm-1", "email": "Ada@Example.com", "phone": "+49 151 1234 5678", "consent": {"email": true, "sms": true}}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["email"], "Ada@example.com");
    assert_eq!(r.body["phone"], "+4915112345678");
    assert_eq!(r.body["tier"], "Bronze");
    assert_eq!(r.body["balance"], 0);
    let ada = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .enroll(
            &program,
            json!({"name": "Someone else", "external_id": "crm-1"}),
        )
        .await;
    r.assert_refused(409, "external_id_taken", None);
    let r = app
        .enroll(
            &program,
            json!({"name": "No phone", "consent": {"sms": true}}),
        )
        .await;
    r.assert_refused(422, "validation_failed", Some("consent.sms"));

    for i in 0..6 {
        app.member(&program, &format!("M{i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/programs/{program}/members?limit=3&cursor={c}"),
            None => format!("/api/v1/programs/{program}/members?limit=3"),
        };
        let page = app.get(&path, &app.admin).await;
        for m in page.body["members"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7, "no member twice across pages");
    let r = app
        .get(
            &format!("/api/v1/programs/{program}/members?external_id=crm-1"),
            &app.admin,
        )
        .await;
    assert_eq!(r.body["members"][0]["id"], ada.as_str());

    // Consent changes per channel: naming one leaves the other as it was.
    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{ada}"),
            Some(&app.admin),
            Some(&json!({"consent": {"email": false}})),
            &[],
        )
        .await;
    assert_eq!(
        (
            r.body["consent"]["email"].as_bool(),
            r.body["consent"]["sms"].as_bool()
        ),
        (Some(false), Some(true))
    );

    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{ada}"),
            Some(&app.admin),
            Some(&json!({"name": "Ada Lovelace", "phone": null})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["name"], "Ada Lovelace");
    assert!(r.body["phone"].is_null());
    assert_eq!(
        r.body["consent"]["sms"], false,
        "removing the phone withdraws SMS consent"
    );
    assert_eq!(r.body["version"], 3);
    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{ada}"),
            Some(&app.admin),
            Some(&json!({"email": "broken"})),
            &[],
        )
        .await;
    r.assert_refused(422, "validation_failed", Some("email"));
    let again = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
    assert_eq!(
        again.body["email"], "Ada@example.com",
        "a refused update changes nothing"
    );
});
