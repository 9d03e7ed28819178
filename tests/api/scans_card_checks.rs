//! Checking the card at the till: forged and malformed codes refused before any lookup; old,
//! unknown, voided and other programs' cards refused; a re-issued card refusing its old barcode.

use passwright::domain::ids::MemberId;
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::scans::counter;

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
