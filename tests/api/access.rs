//! API keys: roles, program scope, revocation.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(roles_scopes_and_revocation, |app: TestApp| async move {
    let a = app.sample_program().await;
    let b = app.sample_program().await;
    let member_b = app.member(&b, "Bob").await;

    // No key, a wrong key, a malformed header.
    let r = app
        .send(reqwest::Method::GET, "/api/v1/programs", None, None, &[])
        .await;
    r.assert_refused(401, "unauthorized", None);
    let r = app.get("/api/v1/programs", "pw_notakey").await;
    r.assert_refused(401, "unauthorized", None);
    let r = app
        .send(
            reqwest::Method::GET,
            "/api/v1/programs",
            None,
            None,
            &[("Authorization", "Basic abc")],
        )
        .await;
    r.assert_refused(401, "unauthorized", None);

    // Staff read and earn, but cannot create programs, enroll, adjust or manage keys.
    let staff = app.create_key("staff", None).await;
    let r = app
        .create_program(&staff, json!({"name": "X", "organization": "Y"}))
        .await;
    r.assert_refused(403, "forbidden", None);
    let r = app
        .post(
            &format!("/api/v1/programs/{a}/members"),
            &staff,
            json!({"name": "Z"}),
        )
        .await;
    r.assert_refused(403, "forbidden", None);
    let r = app
        .earn(&member_b, &staff, "s-1", json!({"amount": 5}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = app
        .post(
            "/api/v1/keys",
            &staff,
            json!({"name": "x", "role": "admin"}),
        )
        .await;
    r.assert_refused(403, "forbidden", None);
    assert_eq!(app.count("programs").await, 2);

    // A marketer key scoped to A sees only A.
    let scoped = app.create_key("marketer", Some(&a)).await;
    let r = app.get(&format!("/api/v1/programs/{a}"), &scoped).await;
    assert_eq!(r.status, 200);
    let r = app.get(&format!("/api/v1/programs/{b}"), &scoped).await;
    r.assert_refused(403, "forbidden", None);
    let r = app
        .get(&format!("/api/v1/members/{member_b}"), &scoped)
        .await;
    r.assert_refused(403, "forbidden", None);
    let r = app
        .earn(&member_b, &scoped, "m-1", json!({"amount": 5}))
        .await;
    r.assert_refused(403, "forbidden", None);
    let list = app.get("/api/v1/programs", &scoped).await;
    let ids: Vec<&str> = list.body["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()]);
    let r = app
        .create_program(&scoped, json!({"name": "X", "organization": "Y"}))
        .await;
    r.assert_refused(403, "forbidden", None);

    // Revoked keys are refused from then on.
    let keys = app.get("/api/v1/keys", &app.admin).await;
    let staff_id = keys.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "staff")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(
            &format!("/api/v1/keys/{staff_id}/revoke"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["revoked_at"].is_string());
    let r = app.get("/api/v1/programs", &staff).await;
    r.assert_refused(401, "api_key_revoked", None);
    assert!(
        !keys
            .bytes
            .windows(staff.len())
            .any(|w| w == staff.as_bytes()),
        "secrets are never listed"
    );
});
