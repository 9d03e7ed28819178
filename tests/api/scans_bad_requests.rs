//! Bad scan requests and locations: malformed scans write nothing, an unknown reward is a
//! recorded 404, location names are unique per program and staff cannot create locations.

use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::scans::counter;

both_engines!(bad_scan_requests_write_nothing, |app: TestApp| async move {
    let c = counter(&app).await;
    let code = app.card_code(&c.member).await;
    let cases = [
        (None, json!({"code": code, "action": "refund"}), 422),
        (None, json!({"code": code, "amount": "3.00"}), 422),
        (Some("k1"), json!({"code": code, "action": "purchase"}), 422),
        (
            Some("k2"),
            json!({"code": code, "action": "purchase", "amount": "-3"}),
            422,
        ),
        (Some("k3"), json!({"code": code, "action": "redeem"}), 422),
        (
            Some("k4"),
            json!({"code": code, "action": "redeem", "reward_id": "nope"}),
            422,
        ),
        (
            None,
            json!({"code": code, "action": "purchase", "amount": "3.00"}),
            400,
        ),
        (
            None,
            json!({"code": code, "location_id": "loc_aaaaaaaaaaaaaaaa"}),
            422,
        ),
        (None, json!({"code": code, "till": 4}), 422),
        (None, json!({"code": "x".repeat(600)}), 422),
    ];
    for (idem, body, status) in cases {
        let r = app.scan(&c.staff, idem, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
        assert!(!r.code().is_empty());
    }
    assert_eq!(app.count("scans").await, 0);
    // An unknown reward is a refused, recorded scan with a 404.
    let r = app
        .scan(
            &c.staff,
            Some("k5"),
            json!({"code": code, "action": "redeem", "reward_id": "rwd_aaaaaaaaaaaaaaaa"}),
        )
        .await;
    r.assert_refused(404, "not_found", None);
    assert_eq!(r.body["scan"]["reason"], "unknown_reward");
    assert_eq!(app.count("scans").await, 1);
    // Locations: names are unique per program; staff cannot create them.
    let dup = app
        .post(
            &format!("/api/v1/programs/{}/locations", c.program),
            &app.admin,
            json!({"name": "Main Street"}),
        )
        .await;
    dup.assert_refused(409, "location_name_taken", None);
    assert_eq!(dup.code(), "location_name_taken");
    let staff = app
        .post(
            &format!("/api/v1/programs/{}/locations", c.program),
            &c.staff,
            json!({"name": "Kiosk"}),
        )
        .await;
    staff.assert_refused(403, "forbidden", None);
    let visible = app.get("/api/v1/locations", &c.staff).await;
    assert_eq!(visible.body["locations"][0]["program_name"], "Test Beans");
    let me = app.get("/api/v1/me", &c.staff).await;
    assert_eq!(me.body["role"], "staff");
    assert_eq!(me.body["program_id"], c.program.as_str());
});
