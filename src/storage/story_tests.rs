//! The store's story, told once and run on each engine (SQLite, and PostgreSQL where one is
//! configured): a program and a member, points that move the tier, a retried request, a
//! refused one that writes nothing, the card change waiting in the outbox, a device that
//! asks which of its passes changed, and the change fanned out to that device and the
//! member's Google object by jobs written in SQL that read back as the jobs Rust writes.

use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::{DeviceLibraryId, PushToken};
use crate::domain::distribution::ConsentSource;
use crate::domain::job::Job;
use crate::domain::ledger::{EntryKind, IdempotencyKey, PointsChange};
use crate::domain::member::Member;
use crate::domain::points::Points;
use crate::storage::{test_postgres, Conflict, Registration, Store, StoreError};

fn change(kind: EntryKind, amount: i64, key: &str, fingerprint: &str) -> PointsChange {
    PointsChange {
        kind,
        amount: Points::new(amount).unwrap(),
        reason: "story".into(),
        actor: "test".into(),
        idempotency_key: Some(IdempotencyKey::parse(key).unwrap()),
        fingerprint: fingerprint.into(),
        allow_negative: false,
    }
}

async fn story(store: &Store) {
    let now = crate::clock::system_now();
    let program = crate::domain::program::sample();
    store.insert_program(&program).await.unwrap();
    let member = Member {
        balance: 0,
        lifetime_points: 0,
        ..crate::domain::member::sample(&program.id)
    };
    store
        .insert_member(&member, ConsentSource::Enrollment)
        .await
        .unwrap();

    // Earning past Gold's threshold moves the tier, in the same write.
    let earn = change(EntryKind::Earn, 600, "till-1-receipt-1", "a");
    let first = store
        .apply_points(&program.id, &member, &program.tiers, &earn, now)
        .await
        .unwrap();
    assert_eq!(first.member.balance, 600);
    assert_eq!(first.member.tier.as_deref(), Some("Gold"));
    assert!(first.tier_changed && !first.replayed);

    // The till retries: the same answer, nothing applied twice.
    let again = store
        .apply_points(&program.id, &member, &program.tiers, &earn, now)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.entry.id, first.entry.id);
    assert_eq!(store.ledger_sum(&member.id).await.unwrap(), 600);

    // The same key for another request is refused.
    let other = change(EntryKind::Earn, 5, "till-1-receipt-1", "b");
    let refused = store
        .apply_points(&program.id, &member, &program.tiers, &other, now)
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Conflict(Conflict::IdempotencyKeyReused))
    ));

    // Spending more than the balance is refused and writes nothing.
    let spend = change(EntryKind::Redeem, -700, "till-1-receipt-2", "c");
    let refused = store
        .apply_points(&program.id, &member, &program.tiers, &spend, now)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(Conflict::InsufficientPoints {
                balance: 600
            }))
        ),
        "{refused:?}"
    );
    assert_eq!(store.ledger_sum(&member.id).await.unwrap(), 600);
    assert_eq!(store.member(&member.id).await.unwrap().balance, 600);

    // The card's change waits in the outbox, once.
    let jobs = store
        .claim_jobs("story", now, now + time::Duration::seconds(30), 100)
        .await
        .unwrap();
    let changed: Vec<_> = jobs
        .iter()
        .filter(|j| j.job.as_ref().ok() == Some(&Job::pass_changed(&member.serial)))
        .collect();
    assert_eq!(changed.len(), 1, "{jobs:?}");

    // A device that holds the card learns that it changed since before the earn.
    let device = DeviceLibraryId::parse("story-device").unwrap();
    let token = PushToken::parse(&"ab".repeat(32)).unwrap();
    let pass_type = PassTypeId::parse(program.pass_type_id.as_str()).unwrap();
    let registered = store
        .register_device(
            &device,
            &token,
            &pass_type,
            &member.serial,
            &program.id,
            now,
        )
        .await
        .unwrap();
    assert!(matches!(registered, Registration::Created));
    let updated = store
        .serials_updated_since(&device, &pass_type, None)
        .await
        .unwrap()
        .expect("the device has a registered pass");
    assert_eq!(updated.serials, vec![member.serial.as_str().to_string()]);
    let later = store
        .serials_updated_since(&device, &pass_type, Some(&updated.tag))
        .await
        .unwrap();
    assert!(
        later.is_none_or(|u| u.serials.is_empty()),
        "nothing changed since the tag"
    );

    // The card's change fans out to a push for the device and an update of its Google
    // object. Those jobs are written by SQL (storage::fan_out): each is the job Rust would
    // have written, byte for byte, under the key Rust would have given it.
    store
        .issue_google_object(
            &member.id,
            &program.id,
            "issuer.object",
            "issuer.class",
            now,
        )
        .await
        .unwrap();
    let added = store
        .fan_out_cards("story", &[(changed[0].id, member.serial.as_str())], now)
        .await
        .unwrap();
    assert_eq!(added, 2);
    let expected = [
        Job::apple_push(&pass_type, &token),
        Job::GoogleObject {
            member_id: member.id.as_str().to_string(),
        },
    ];
    for job in expected {
        let (dedup_key, payload): (String, String) = sqlx::query_as(
            "SELECT dedup_key, payload FROM outbox_jobs WHERE kind = $1 AND state = 'pending'",
        )
        .bind(job.kind())
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(payload, job.to_json(), "{} payload", job.kind());
        assert_eq!(Job::from_json(&payload).unwrap(), job);
        assert_eq!(dedup_key, job.dedup_key(), "{} key", job.kind());
    }
}

#[tokio::test]
async fn the_story_on_sqlite() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("story.db").display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    story(&store).await;
    store.close().await;
}

#[tokio::test]
async fn the_story_on_postgres() {
    sqlx::any::install_default_drivers();
    let Some((admin, url)) = test_postgres::database("storage::story").await else {
        return;
    };
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    story(&store).await;
    test_postgres::remove(store, &admin, &url).await;
}
