//! The counter: scanning cards, actions after a scan, the scan record, and the refusals.

use futures_util::future::join_all;
use passwright::domain::ids::MemberId;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;

/// A program with a 50-point single-use reward, a 30-point repeatable one, a location, a
/// staff key scoped to it and one member.
struct Counter {
    program: String,
    member: String,
    single: String,
    repeatable: String,
    location: String,
    staff: String,
}

async fn counter(app: &TestApp) -> Counter {
    let program = app.sample_program().await;
    let reward = |name: &str, cost: i64, repeatable: bool| json!({"name": name, "cost": cost, "repeatable": repeatable});
    let single = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            reward("Free mug", 50, false),
        )
        .await;
    assert_eq!(single.status, 201, "{:?}", single.body);
    let repeatable = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            reward("Free coffee", 30, true),
        )
        .await;
    let location = app
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            &app.admin,
            json!({"name": "Main Street", "address": "1 Main St"}),
        )
        .await;
    assert_eq!(location.status, 201, "{:?}", location.body);
    Counter {
        member: app.member(&program, "Ada").await,
        staff: app.create_key("staff", Some(&program)).await,
        single: single.body["id"].as_str().unwrap().to_string(),
        repeatable: repeatable.body["id"].as_str().unwrap().to_string(),
        location: location.body["id"].as_str().unwrap().to_string(),
        program,
    }
}

impl TestApp {
    /// The text the member's barcode carries.
    pub async fn card_code(&self, member: &str) -> String {
        let m = self
            .state
            .store
            .member(&MemberId::parse(member).unwrap())
            .await
            .unwrap();
        self.state.cards.card_token(&m)
    }

    pub async fn scan(&self, key: &str, idem: Option<&str>, body: Value) -> Reply {
        let headers: Vec<(&str, &str)> = idem.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        self.send(
            Method::POST,
            "/api/v1/scans",
            Some(key),
            Some(&body),
            &headers,
        )
        .await
    }
}

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

both_engines!(
    forged_codes_are_refused_before_any_lookup,
    |app: TestApp| async move {
        let c = counter(&app).await;
        let code = app.card_code(&c.member).await;
        // Warm the key cache so the only database work left is the scan itself.
        assert_eq!(app.get("/api/v1/me", &c.staff).await.status, 200);
        let lookups = app.state.store.member_lookups();
        let mut altered = code.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'a' { b'b' } else { b'a' };
        let altered = String::from_utf8(altered).unwrap();
        // The serial of another (made-up) card with this card's MAC.
        let (prefix, rest) = code.split_at(4);
        let swapped = format!(
            "{prefix}{}{}",
            if rest.starts_with('a') { "b" } else { "a" },
            &rest[1..]
        );
        for (text, reason) in [
            (altered.as_str(), "forged"),
            (swapped.as_str(), "forged"),
            ("0042", "malformed"),
            ("", "malformed"),
        ] {
            let r = app
            .scan(
                &c.staff,
                Some("forged-1"),
                json!({"code": text, "action": "redeem", "reward_id": c.single, "location_id": c.location}),
            )
            .await;
            r.assert_refused(422, "scan_rejected", None);
            assert_eq!(r.code(), "scan_rejected");
            assert_eq!(r.body["error"]["reason"], reason, "{text}");
            assert_eq!(r.body["scan"]["result"], "rejected");
            // Recorded against the location's program, without a member.
            assert_eq!(r.body["scan"]["program_id"], c.program.as_str());
            assert!(r.body["scan"]["member_id"].is_null());
        }
        assert_eq!(
            app.state.store.member_lookups(),
            lookups,
            "a forged code must be refused before any card lookup"
        );
        assert_eq!(app.count("scans").await, 4);
        assert_eq!(app.count("ledger_entries").await, 0);
        // The genuine code is looked up (so the count above could have moved).
        let r = app.scan(&c.staff, None, json!({"code": code})).await;
        assert_eq!(r.status, 201);
        assert!(app.state.store.member_lookups() > lookups);
        let metrics = app.metrics().await;
        assert!(
            metrics.contains("passwright_member_lookups_total"),
            "{metrics}"
        );
    }
);

both_engines!(
    old_voided_and_foreign_cards_are_refused,
    |app: TestApp| async move {
        let c = counter(&app).await;
        let member = app
            .state
            .store
            .member(&MemberId::parse(&c.member).unwrap())
            .await
            .unwrap();
        let keys = app.state.cards.keys();
        // A genuinely signed code for a generation the card has left behind.
        let old = keys.card_token(&member.serial, member.card_generation - 1);
        let r = app.scan(&c.staff, None, json!({"code": old})).await;
        r.assert_refused(422, "scan_rejected", None);
        assert_eq!(r.body["error"]["reason"], "superseded");
        assert_eq!(r.body["scan"]["member_id"], c.member.as_str());
        // A valid code for a card that does not exist.
        let unknown = keys.card_token(
            &passwright::domain::apple_ids::SerialNumber::generate(&passwright::clock::OsRandom),
            1,
        );
        let r = app.scan(&c.staff, None, json!({"code": unknown})).await;
        assert_eq!(r.body["error"]["reason"], "unknown_card");
        // A key of another program.
        let other_program = app.sample_program().await;
        let other_staff = app.create_key("staff", Some(&other_program)).await;
        let code = app.card_code(&c.member).await;
        let r = app.scan(&other_staff, None, json!({"code": code})).await;
        r.assert_refused(422, "scan_rejected", None);
        assert_eq!(r.body["error"]["reason"], "other_program");
        assert!(
            r.body["scan"]["member_id"].is_null(),
            "nothing about the card leaks"
        );
        // Voided: the old code is refused as voided.
        let void = app
            .post(
                &format!("/api/v1/members/{}/void", c.member),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(void.status, 200, "{:?}", void.body);
        let r = app.scan(&c.staff, None, json!({"code": code})).await;
        assert_eq!(r.body["error"]["reason"], "voided");
        assert_eq!(app.count("scans").await, 4);
    }
);

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

// A card whose barcode was shared (or whose phone was lost) is re-issued: the pass the
// phones fetch carries a new barcode, the old barcode is refused and recorded as
// `superseded`, the old download link is dead and the new one works.
both_engines!(
    a_reissued_card_refuses_its_old_barcode,
    |app: TestApp| async move {
        let c = counter(&app).await;
        let before = app
            .get(&format!("/api/v1/members/{}", c.member), &app.admin)
            .await;
        let old_link = before.body["pass_url"].as_str().unwrap().to_string();
        let old_code = app.card_code(&c.member).await;
        assert_eq!(app.pass_barcode(&old_link).await, old_code);

        let staff_try = app
            .post(
                &format!("/api/v1/members/{}/reissue", c.member),
                &c.staff,
                json!({}),
            )
            .await;
        staff_try.assert_refused(403, "forbidden", None);
        let r = app
            .post(
                &format!("/api/v1/members/{}/reissue", c.member),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let new_link = r.body["pass_url"].as_str().unwrap().to_string();
        assert_ne!(new_link, old_link);
        assert_eq!(
            r.body["version"].as_i64().unwrap(),
            before.body["version"].as_i64().unwrap() + 1
        );
        let dead = app.client.get(&old_link).send().await.unwrap();
        assert_eq!(dead.status(), 404);
        // The pass a phone now fetches (same serial) carries the new barcode.
        let new_code = app.pass_barcode(&new_link).await;
        assert_ne!(new_code, old_code);
        assert_eq!(new_code, app.card_code(&c.member).await);

        let old = app
            .scan(
                &c.staff,
                None,
                json!({"code": old_code, "location_id": c.location}),
            )
            .await;
        old.assert_refused(422, "scan_rejected", None);
        assert_eq!(old.body["error"]["reason"], "superseded");
        assert_eq!(old.body["scan"]["result"], "rejected");
        let new = app
            .scan(
                &c.staff,
                None,
                json!({"code": new_code, "location_id": c.location}),
            )
            .await;
        assert_eq!(new.status, 201, "{:?}", new.body);
        assert_eq!(new.body["member"]["name"], "Ada");
        assert_eq!(app.count("scans").await, 2);

        // A voided card stays voided.
        let voided = app
            .post(
                &format!("/api/v1/members/{}/void", c.member),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(voided.status, 200);
        let again = app
            .post(
                &format!("/api/v1/members/{}/reissue", c.member),
                &app.admin,
                json!({}),
            )
            .await;
        again.assert_refused(409, "member_voided", None);
        assert_eq!(again.body["error"]["code"], "member_voided");
    }
);
