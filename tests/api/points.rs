//! Points through the ledger: earn rules, idempotency, concurrency, balance invariants.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(
    earn_applies_rules_and_moves_tier,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let r = app
            .earn(
                &member,
                &app.admin,
                "o-1",
                json!({"amount": "30.50", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["entry"]["amount"], 61);
        assert_eq!(r.body["member"]["balance"], 61);
        assert_eq!(r.body["member"]["tier"], "Bronze");
        let r = app
            .earn(&member, &app.admin, "o-2", json!({"amount": 40}))
            .await;
        assert_eq!(r.body["member"]["balance"], 101);
        assert_eq!(r.body["member"]["tier"], "Silver");
        assert_eq!(r.body["tier_changed"], true);
        assert_eq!(r.body["member"]["next_tier"]["points_needed"], 399);
        let ledger = app
            .get(&format!("/api/v1/members/{member}/ledger"), &app.admin)
            .await;
        let entries = ledger.body["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["balance_after"], 101, "newest first");
    }
);

both_engines!(
    same_idempotency_key_credits_once,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let body = json!({"amount": "10.00"});
        let first = app
            .earn(&member, &app.admin, "till-7-receipt-42", body.clone())
            .await;
        assert_eq!(first.status, 201);
        assert_eq!(first.headers["idempotent-replayed"], "false");
        let again = app
            .earn(&member, &app.admin, "till-7-receipt-42", body)
            .await;
        assert_eq!(again.status, 200, "{:?}", again.body);
        assert_eq!(again.body["replayed"], true);
        assert_eq!(again.body["entry"]["id"], first.body["entry"]["id"]);
        assert_eq!(again.body["member"]["balance"], 10);
        assert_eq!(app.count("ledger_entries").await, 1);
        // The same key for a different request is refused, not silently answered.
        let other = app
            .earn(
                &member,
                &app.admin,
                "till-7-receipt-42",
                json!({"amount": "99.00"}),
            )
            .await;
        other.assert_refused(409, "idempotency_key_reused", None);
        assert_eq!(other.code(), "idempotency_key_reused");
        let missing = app
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/members/{member}/earn"),
                Some(&app.admin),
                Some(&json!({"amount": 1})),
                &[],
            )
            .await;
        missing.assert_refused(400, "idempotency_key_required", None);
        assert_eq!(missing.code(), "idempotency_key_required");
    }
);

both_engines!(concurrent_earns_sum_exactly, |app: TestApp| async move {
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = app.clone();
        let member = member.clone();
        tasks.push(tokio::spawn(async move {
            // 1..=50 points each; a repeat of every tenth request must not count.
            let body = json!({"amount": i + 1});
            let r = app
                .earn(&member, &app.admin, &format!("c-{i}"), body.clone())
                .await;
            assert!(r.status == 201, "{:?}", r.body);
            if i % 10 == 0 {
                let r = app.earn(&member, &app.admin, &format!("c-{i}"), body).await;
                assert_eq!(r.status, 200, "{:?}", r.body);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let m = app
        .get(&format!("/api/v1/members/{member}"), &app.admin)
        .await;
    let expected: i64 = (1..=50).sum();
    assert_eq!(m.body["balance"], expected);
    assert_eq!(m.body["lifetime_points"], expected);
    assert_eq!(m.body["tier"], "Gold");
    let id = passwright::domain::ids::MemberId::parse(&member).unwrap();
    assert_eq!(app.state.store.ledger_sum(&id).await.unwrap(), expected);
    assert_eq!(app.count("ledger_entries").await, 50);
});

both_engines!(
    adjustments_never_go_negative_unless_asked,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        app.earn(&member, &app.admin, "e1", json!({"amount": 20}))
            .await;
        let r = app
            .adjust(&member, "a1", json!({"points": -50, "reason": "refund"}))
            .await;
        r.assert_refused(409, "insufficient_points", None);
        assert_eq!(r.code(), "insufficient_points");
        assert_eq!(app.count("ledger_entries").await, 1);
        let r = app
            .adjust(
                &member,
                "a2",
                json!({"points": -50, "reason": "refund after spend", "allow_negative": true}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["member"]["balance"], -30);
        assert_eq!(
            r.body["member"]["lifetime_points"], 0,
            "lifetime points never go below zero"
        );
        // Earning always applies, also below zero.
        let r = app
            .earn(&member, &app.admin, "e2", json!({"amount": 10}))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["member"]["balance"], -20);
        let r = app
            .adjust(&member, "a3", json!({"points": 0, "reason": "nothing"}))
            .await;
        r.assert_refused(422, "validation_failed", Some("points"));
    }
);

both_engines!(voided_members_earn_nothing, |app: TestApp| async move {
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let r = app
        .post(
            &format!("/api/v1/members/{member}/void"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "voided");
    let r = app
        .earn(&member, &app.admin, "v1", json!({"amount": 20}))
        .await;
    r.assert_refused(409, "member_voided", None);
    assert_eq!(r.code(), "member_voided");
    assert_eq!(app.count("ledger_entries").await, 0);
});
