//! Shared helpers of the message-sending tests (messages_*.rs, and unsubscribe.rs and
//! scans.rs): `both_engines_named!`, an app with a pinned clock and settings pointing at local
//! fakes, messages queued through the store as campaigns and reminders do, the outbox drained,
//! and samples read from /metrics.

use std::sync::Arc;

use passwright::clock::{ManualClock, SharedClock};
use passwright::domain::distribution::{MessageChannel, MessagePurpose};
use passwright::domain::ids::{MemberId, ProgramId};
use passwright::settings::Settings;
use passwright::storage::NewMessage;
use serde_json::{json, Value};

use crate::helpers::*;

/// Runs `$body(engine, test name)` on SQLite and on PostgreSQL (when configured), for tests
/// that build their app themselves (a pinned clock, settings pointing at local fakes).
#[macro_export]
macro_rules! both_engines_named {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(Engine::Sqlite, concat!(stringify!($name), "::sqlite")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(Engine::Postgres, concat!(stringify!($name), "::postgres")).await;
            }
        }
    };
}

/// An app on `engine` with a pinned clock and `adjust`ed settings; `None` when the engine is
/// not configured.
pub async fn spawn_sending(
    engine: Engine,
    test: &str,
    clock: &ManualClock,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    adjust(&mut settings);
    let shared: SharedClock = Arc::new(clock.clone());
    Some(spawn_with_clock(settings, data_dir, shared).await)
}

pub fn clock() -> ManualClock {
    ManualClock::at(
        passwright::clock::system_now()
            .replace_nanosecond(0)
            .unwrap(),
    )
}

/// Queues one message to `member` through the store, as campaigns and reminders do.
pub async fn queue(
    app: &TestApp,
    program: &str,
    member: &str,
    channel: MessageChannel,
    template: &str,
    data: Value,
    dedup: &str,
) -> i64 {
    let msg = NewMessage {
        program_id: ProgramId::parse(program).unwrap(),
        member_id: MemberId::parse(member).unwrap(),
        campaign_id: None,
        channel,
        purpose: MessagePurpose::Marketing,
        template: template.into(),
        data,
        link_code: None,
        dedup: dedup.into(),
    };
    app.state
        .store
        .queue_message(&msg, app.state.clock.now())
        .await
        .unwrap()
        .expect("a new message")
}

pub async fn drain(app: &TestApp) -> usize {
    app.state.outbox.drain().await.unwrap()
}

/// The value of a sample in the /metrics text.
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in\n{metrics}"))
}

pub async fn enroll(app: &TestApp, program: &str, body: Value) -> String {
    let r = app.enroll(program, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

pub fn expiring() -> Value {
    json!({"points": 70, "expires_at": "2026-12-01T00:00:00Z"})
}
