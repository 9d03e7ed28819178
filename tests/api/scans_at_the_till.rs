//! At the till: a card looked up, a purchase earning points (replayed safely, a reused key
//! refused), rewards redeemed (single-use once, repeatable while the balance allows), a visit,
//! and every scan on record and sent out as an event.

use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::scans::counter;

both_engines!(scan_then_purchase_and_redeem, |app: TestApp| async move {
    let c = counter(&app).await;
    let code = app.card_code(&c.member).await;
    // An integration listening for what happens at the counter.
    let hook = app
        .post(
            &format!("/api/v1/programs/{}/webhooks", c.program),
            &app.admin,
            json!({"url": "http://127.0.0.1:9/hooks",
                   "events": ["scan.accepted", "scan.rejected", "reward.redeemed"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    let hook = hook.body["id"].as_str().unwrap().to_string();

    let r = app
        .scan(
            &c.staff,
            None,
            json!({"code": code, "location_id": c.location}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["scan"]["result"], "accepted");
    assert_eq!(r.body["scan"]["action"], "lookup");
    assert_eq!(r.body["scan"]["staff_name"], "staff key");
    assert_eq!(r.body["member"]["name"], "Ada");
    assert_eq!(r.body["member"]["balance"], 0);
    assert!(
        r.body["member"].get("email").is_none(),
        "no contact details at the till"
    );
    let rewards = r.body["rewards"].as_array().unwrap();
    assert_eq!(rewards.len(), 2);
    assert!(rewards.iter().all(|r| r["affordable"] == false));

    // A purchase of 30.00 of coffee: 60 points through the 2x multiplier.
    let purchase = json!({"code": code, "location_id": c.location, "action": "purchase",
                          "amount": "30.00", "product_types": ["coffee"]});
    let r = app.scan(&c.staff, Some("till-1-1"), purchase.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["entry"]["amount"], 60);
    assert_eq!(r.body["member"]["balance"], 60);
    assert_eq!(r.body["scan"]["points"], 60);
    assert_eq!(r.body["scan"]["amount"], "30.00");
    let affordable: Vec<&str> = r.body["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["affordable"] == true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(affordable, ["Free coffee", "Free mug"]);
    // A retry of the same request applies nothing.
    let again = app.scan(&c.staff, Some("till-1-1"), purchase).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["scan"]["id"], r.body["scan"]["id"]);
    assert_eq!(again.body["member"]["balance"], 60);
    // The same key for a different request is refused.
    let other = app
        .scan(
            &c.staff,
            Some("till-1-1"),
            json!({"code": code, "action": "purchase", "amount": "99.00"}),
        )
        .await;
    other.assert_refused(409, "idempotency_key_reused", None);
    assert_eq!(other.code(), "idempotency_key_reused");

    // Redeem the single-use reward: once.
    let redeem = json!({"code": code, "action": "redeem", "reward_id": c.single});
    let r = app.scan(&c.staff, Some("till-1-2"), redeem.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["member"]["balance"], 10);
    assert_eq!(r.body["redemption"]["name"], "Free mug");
    assert_eq!(r.body["entry"]["kind"], "redeem");
    assert_eq!(r.body["entry"]["amount"], -50);
    let mug = r.body["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Free mug")
        .unwrap()
        .clone();
    assert_eq!(mug["redeemed"], true);
    app.adjust(
        &c.member,
        "top-up",
        json!({"points": 100, "reason": "goodwill"}),
    )
    .await;
    let twice = app.scan(&c.staff, Some("till-1-3"), redeem).await;
    twice.assert_refused(409, "reward_already_redeemed", None);
    assert_eq!(twice.code(), "reward_already_redeemed");
    assert_eq!(twice.body["scan"]["result"], "rejected");
    assert_eq!(twice.body["scan"]["reason"], "reward_already_redeemed");
    // The repeatable one as often as the balance allows, then refused.
    for n in 0..3 {
        let r = app
            .scan(
                &c.staff,
                Some(&format!("coffee-{n}")),
                json!({"code": code, "action": "redeem", "reward_id": c.repeatable}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let broke = app
        .scan(
            &c.staff,
            Some("coffee-3"),
            json!({"code": code, "action": "redeem", "reward_id": c.repeatable}),
        )
        .await;
    broke.assert_refused(409, "insufficient_points", None);
    assert_eq!(broke.code(), "insufficient_points");
    // Balance: 60 - 50 + 100 - 90 = 20, and the ledger agrees.
    let member = app
        .get(&format!("/api/v1/members/{}", c.member), &app.admin)
        .await;
    assert_eq!(member.body["balance"], 20);
    let visit = app
        .scan(
            &c.staff,
            Some("visit-1"),
            json!({"code": code, "action": "visit"}),
        )
        .await;
    assert_eq!(visit.status, 201, "{:?}", visit.body);
    assert!(visit.body["entry"].is_null());

    // Every request is one scan record; staff cannot read the list, marketers can.
    assert_eq!(app.count("scans").await, 9);
    let denied = app.get("/api/v1/scans", &c.staff).await;
    denied.assert_refused(403, "forbidden", None);
    let list = app
        .get(
            &format!("/api/v1/scans?program_id={}", c.program),
            &app.admin,
        )
        .await;
    let scans = list.body["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 9);
    let rejected: Vec<&str> = scans
        .iter()
        .filter(|s| s["result"] == "rejected")
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(rejected, ["insufficient_points", "reward_already_redeemed"]);
    assert_eq!(scans.last().unwrap()["location_id"], c.location.as_str());
    // Each recorded scan went out as an event, redemptions twice (scan and reward).
    let deliveries = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries?limit=100"),
            &app.admin,
        )
        .await;
    let mut types: Vec<String> = deliveries.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(
        (
            count("scan.accepted"),
            count("scan.rejected"),
            count("reward.redeemed")
        ),
        (7, 2, 4),
        "{types:?}"
    );
    let redeemed = deliveries.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "reward.redeemed")
        .unwrap()
        .clone();
    assert_eq!(redeemed["data"]["scan"]["action"], "redeem");
    assert_eq!(redeemed["data"]["entry"]["kind"], "redeem");
    assert!(redeemed["data"]["member"]["balance"].is_i64());
    // The card changed: its wallets will be told.
    let pending = app.state.store.jobs_in_state("pending", 100).await.unwrap();
    assert!(
        pending.iter().any(|j| j.kind == "pass_changed"),
        "{pending:?}"
    );
});
