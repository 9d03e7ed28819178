//! What the database keeps under pressure: a hundred tills redeeming and buying at once
//! counted exactly, and text that looks like SQL stored exactly as sent, on both engines.

use futures_util::future::join_all;
use passwright::domain::ids::MemberId;
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::scans::counter;

both_engines!(
    concurrent_redemptions_and_purchases,
    |app: TestApp| async move {
        let c = counter(&app).await;
        let code = app.card_code(&c.member).await;
        let top_up = app
            .adjust(
                &c.member,
                "fund",
                json!({"points": 10_000, "reason": "test funds"}),
            )
            .await;
        assert_eq!(top_up.status, 201);
        // 100 tills redeem the single-use reward at once: exactly one wins.
        let keys: Vec<String> = (0..100).map(|n| format!("r-{n}")).collect();
        let redeems = join_all(keys.iter().map(|k| {
            app.scan(
                &c.staff,
                Some(k),
                json!({"code": code, "action": "redeem", "reward_id": c.single}),
            )
        }))
        .await;
        let accepted = redeems.iter().filter(|r| r.status == 201).count();
        let refused = redeems
            .iter()
            .filter(|r| r.status == 409 && r.code() == "reward_already_redeemed")
            .count();
        assert_eq!(
            (accepted, refused),
            (1, 99),
            "{:?}",
            redeems.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        // 100 purchases at once: every one counts, exactly.
        let keys: Vec<String> = (0..100).map(|n| format!("p-{n}")).collect();
        let purchases = join_all(keys.iter().map(|k| {
            app.scan(
                &c.staff,
                Some(k),
                json!({"code": code, "action": "purchase", "amount": "1.00"}),
            )
        }))
        .await;
        assert!(
            purchases.iter().all(|r| r.status == 201),
            "{:?}",
            purchases.iter().find(|r| r.status != 201)
        );
        let member = app
            .get(&format!("/api/v1/members/{}", c.member), &app.admin)
            .await;
        assert_eq!(member.body["balance"], 10_000 - 50 + 100);
        let id = MemberId::parse(&c.member).unwrap();
        assert_eq!(app.state.store.ledger_sum(&id).await.unwrap(), 10_050);
        assert_eq!(app.count("scans").await, 200);
        // On SQLite every one of those writes was a turn on the writer, and no turn ended
        // without a COMMIT behind it; PostgreSQL has no writer of its own.
        let metrics = app.metrics().await;
        match app.state.store.engine() {
            passwright::storage::Engine::Sqlite => {
                let turns =
                    crate::messages::sample(&metrics, "passwright_sqlite_write_turns_total");
                let commits = crate::messages::sample(&metrics, "passwright_sqlite_commits_total");
                assert!(turns >= 201.0, "{turns}");
                assert!(commits >= 1.0 && commits <= turns, "{commits} of {turns}");
            }
            passwright::storage::Engine::Postgres => {
                assert!(!metrics.contains("passwright_sqlite_"), "{metrics}");
            }
        }
    }
);

// A scan's writes reach PostgreSQL as one simple query with their values written in as
// literals (`storage::batch`). Text that looks like SQL, quotes, backslashes, escape
// sequences and placeholders must be stored exactly as sent, on both engines.
both_engines!(text_in_scans_is_stored_exactly, |app: TestApp| async move {
    let tricky =
        "O'Brien '' \\' \\\\ \\x41 $1 $2$ E'\\n' '); DROP TABLE scans; -- \u{e9} \u{1F600}";
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let key = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": format!("Till {tricky}"), "role": "staff", "program_id": program}),
        )
        .await;
    assert_eq!(key.status, 201, "{:?}", key.body);
    let staff = key.body["secret"].as_str().unwrap().to_string();
    let reward = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            json!({"name": format!("Mug {tricky}"), "cost": 1, "repeatable": true}),
        )
        .await;
    assert_eq!(reward.status, 201, "{:?}", reward.body);
    let code = app.card_code(&member).await;
    // Visible ASCII is all an idempotency key may hold, quotes and backslashes included.
    let idem = "k'\\$1'';--";
    let bought = app
        .scan(
            &staff,
            Some(idem),
            json!({"code": code, "action": "purchase", "amount": "3.00"}),
        )
        .await;
    assert_eq!(bought.status, 201, "{:?}", bought.body);
    let redeemed = app
        .scan(
            &staff,
            Some("redeem'1"),
            json!({"code": code, "action": "redeem", "reward_id": reward.body["id"]}),
        )
        .await;
    assert_eq!(redeemed.status, 201, "{:?}", redeemed.body);
    // Read back from the database, not from the answers.
    let list = app
        .get(&format!("/api/v1/scans?program_id={program}"), &app.admin)
        .await;
    let scans = list.body["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 2, "{:?}", list.body);
    for s in scans {
        assert_eq!(s["staff_name"], format!("Till {tricky}").as_str());
        assert_eq!(s["result"], "accepted");
    }
    let ledger = app
        .get(&format!("/api/v1/members/{member}/ledger"), &app.admin)
        .await;
    let reasons: Vec<&str> = ledger.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&format!("Redeemed Mug {tricky}").as_str()),
        "{reasons:?}"
    );
    // The same key again is a replay of the first purchase, found by its exact text.
    let again = app
        .scan(
            &staff,
            Some(idem),
            json!({"code": code, "action": "purchase", "amount": "3.00"}),
        )
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["scan"]["id"], bought.body["scan"]["id"]);
    assert_eq!(app.count("scans").await, 2);
});
