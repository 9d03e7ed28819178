//! Points expiry: the oldest unspent points go first, in the right amounts, as ledger
//! entries; the reminder reaches the card and the member's consented channels once.

use std::sync::Arc;

use passwright::clock::{ManualClock, SharedClock};
use passwright::redemption::expiry::{run, ExpiryRun};
use serde_json::{json, Value};
use time::Duration;

use crate::both_engines;
use crate::device::pass_json;
use crate::helpers::*;

async fn expiry_in_order_with_one_reminder(engine: Engine, test: &str) {
    let start = passwright::clock::system_now()
        .replace_nanosecond(0)
        .unwrap();
    let clock = ManualClock::at(start);
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return;
    };
    let settings = settings_for(data_dir.path(), &url);
    let shared: SharedClock = Arc::new(clock.clone());
    let app = spawn_with_clock(settings, data_dir, shared).await;
    let store = &app.state.store;
    let program = app.sample_program().await;
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{program}/expiry"),
            Some(&app.admin),
            Some(&json!({"months": 1, "reminder_days": 7})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["expiry"], json!({"months": 1, "reminder_days": 7}));
    let enrolled = app
        .enroll(
            &program,
            json!({"name": "Ada", "email": "ada@example.com", "consent": {"email": true}}),
        )
        .await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    let ada = enrolled.body["id"].as_str().unwrap().to_string();

    // 100 now, 50 ten days later, 30 taken away on day 15: 70 of the first 100 are left.
    let earn = app
        .earn(&ada, &app.admin, "e1", json!({"amount": "100.00"}))
        .await;
    assert_eq!(earn.status, 201);
    clock.advance(Duration::days(10));
    app.earn(&ada, &app.admin, "e2", json!({"amount": "50.00"}))
        .await;
    clock.advance(Duration::days(5));
    app.adjust(
        &ada,
        "a1",
        json!({"points": -30, "reason": "returned goods"}),
    )
    .await;
    assert_eq!(
        run(store, clock_now(&clock)).await.unwrap(),
        ExpiryRun::default()
    );

    // Three days before the first credit's month is up: a reminder for its 70 points.
    let first_expiry = start.replace_date(passwright::domain::expiry::add_months(start.date(), 1));
    clock.advance((first_expiry - Duration::days(3)) - clock_now(&clock));
    let reminded = run(store, clock_now(&clock)).await.unwrap();
    assert_eq!(
        reminded,
        ExpiryRun {
            reminders: 1,
            ..ExpiryRun::default()
        }
    );
    let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
    assert_eq!(member.body["balance"], 120);
    assert_eq!(member.body["expiring"]["points"], 70);
    // The card shows it, with a lock-screen message.
    let pass = app
        .get(&format!("/api/v1/members/{ada}/pass"), &app.admin)
        .await;
    let back = pass_json(&pass.bytes)["storeCard"]["backFields"].clone();
    let field = back
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "expiring_points")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(field["value"], format!("70 on {}", first_expiry.date()));
    assert_eq!(field["changeMessage"], "Points expiring: %@");
    // One email (she agreed to email, gave no phone), sent once: in development it is
    // written to the mail folder.
    assert_eq!(
        run(store, clock_now(&clock)).await.unwrap(),
        ExpiryRun::default()
    );
    app.state.outbox.drain().await.unwrap();
    let pending = store.jobs_in_state("pending", 100).await.unwrap();
    assert!(
        !pending.iter().any(|j| j.kind == "email" || j.kind == "sms"),
        "{pending:?}"
    );
    let member_id = passwright::domain::ids::MemberId::parse(&ada).unwrap();
    let mut messages = store.member_messages(&member_id, 10).await.unwrap();
    messages.sort_by_key(|m| m.id);
    assert_eq!(messages.len(), 2);
    let message = &messages[0];
    assert_eq!(message.template, "points_expiring");
    assert_eq!(message.data["points"], 70);
    assert_eq!(message.status, "delivered");
    let eml = app
        .data_dir
        .path()
        .join("mail")
        .join(format!("{}.eml", message.id));
    let raw = std::fs::read_to_string(&eml).unwrap();
    assert!(raw.contains("To: Ada <ada@example.com>"), "{raw}");
    assert!(
        raw.contains(&format!(
            "Subject: 70 Test Beans points expire on {}",
            first_expiry.date()
        )),
        "{raw}"
    );
    // The SMS she could not receive is kept as skipped, with the reason.
    let sms = &messages[1];
    assert_eq!(
        (sms.status.as_str(), sms.reason.as_deref()),
        ("skipped", Some("no_address"))
    );

    // A day after: the 70 expire (not the newer 50), and the reminder is cleared.
    clock.advance(Duration::days(4));
    let expired = run(store, clock_now(&clock)).await.unwrap();
    assert_eq!(
        expired,
        ExpiryRun {
            members_expired: 1,
            points_expired: 70,
            reminders: 0
        }
    );
    let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
    assert_eq!(member.body["balance"], 50);
    assert!(member.body["expiring"].is_null());
    assert_eq!(
        member.body["lifetime_points"], 120,
        "expiry does not take a tier away"
    );
    let ledger = app
        .get(&format!("/api/v1/members/{ada}/ledger"), &app.admin)
        .await;
    assert_eq!(ledger.body["entries"][0]["kind"], "expire");
    assert_eq!(ledger.body["entries"][0]["amount"], -70);
    assert_eq!(
        run(store, clock_now(&clock)).await.unwrap(),
        ExpiryRun::default()
    );

    // Later the 50 expire too, after their own reminder.
    clock.advance(Duration::days(40));
    let later = run(store, clock_now(&clock)).await.unwrap();
    assert_eq!((later.points_expired, later.members_expired), (50, 1));
    let id = passwright::domain::ids::MemberId::parse(&ada).unwrap();
    assert_eq!(store.ledger_sum(&id).await.unwrap(), 0);

    // Turning expiry off stops it; bad policies are refused.
    let off = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/programs/{program}/expiry"),
            Some(&app.admin),
            None,
            &[],
        )
        .await;
    assert!(off.body["expiry"].is_null());
    let bad = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{program}/expiry"),
            Some(&app.admin),
            Some(&json!({"months": 0})),
            &[],
        )
        .await;
    bad.assert_refused(422, "validation_failed", Some("months"));
    assert_eq!(bad.body["error"]["field"], "months");
}

fn clock_now(clock: &ManualClock) -> time::OffsetDateTime {
    use passwright::clock::Clock as _;
    clock.now()
}

both_engines!(expiry, run = expiry_in_order_with_one_reminder);
