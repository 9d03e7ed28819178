//! The outbox table's own tests: prepared plans on PostgreSQL, spans of writes.

use std::sync::{Arc, Mutex};

use time::Duration;

use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::DeviceLibraryId;
use crate::domain::job::Job;
use crate::storage::{test_postgres, Store};

/// Names of the spans opened while it is the subscriber.
#[derive(Clone, Default)]
struct SpanNames(Arc<Mutex<Vec<&'static str>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanNames {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        self.0.lock().unwrap().push(attrs.metadata().name());
    }
}

/// A store write runs in a span named after it, which says nothing of its arguments.
#[tokio::test]
async fn writes_run_in_a_span_of_their_own() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let names = SpanNames::default();
    let subscriber = tracing_subscriber::registry().with(names.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let now = crate::clock::system_now();
    let job = Job::Email { message_id: 7 };
    assert!(store.enqueue_job(&job, now, now).await.unwrap());
    let claimed = store
        .claim_jobs("w", now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let opened = names.0.lock().unwrap().clone();
    for name in ["store.enqueue_job", "store.claim_jobs"] {
        assert!(opened.contains(&name), "{name} not among {opened:?}");
    }
    drop(_default);
    store.close().await;
}

/// The statements PostgreSQL holds prepared on the pool's one connection, with how many
/// times each ran on a cached generic plan.
async fn prepared(store: &Store) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT statement, generic_plans FROM pg_prepared_statements")
        .fetch_all(&store.pool)
        .await
        .unwrap()
}

/// Keyed lookups run on the plan PostgreSQL cached for them; an outbox claim is planned
/// each time, so a plan made while the outbox was empty never meets a full one.
#[tokio::test]
async fn postgres_caches_plans_of_keyed_lookups_but_plans_each_outbox_claim() {
    sqlx::any::install_default_drivers();
    let Some((admin, url)) = test_postgres::database("storage::outbox").await else {
        return;
    };
    // One connection, so every statement below is prepared (or not) on the session
    // `pg_prepared_statements` describes.
    let store = Store::connect(&url, 1).await.unwrap();
    store.migrate().await.unwrap();
    let device = DeviceLibraryId::parse("device-1").unwrap();
    let pass_type = PassTypeId::parse("pass.com.example.loyalty").unwrap();
    let now = crate::clock::system_now();
    // PostgreSQL settles on a generic plan after five executions.
    for _ in 0..8 {
        let none = store
            .serials_updated_since(&device, &pass_type, None)
            .await
            .unwrap();
        assert_eq!(none, None);
        let claimed = store
            .claim_jobs("worker-1", now, now + Duration::minutes(1), 100)
            .await
            .unwrap();
        assert!(claimed.is_empty());
    }
    let statements = prepared(&store).await;
    let since = statements
        .iter()
        .find(|(sql, _)| sql.contains("pg_current_snapshot"))
        .unwrap_or_else(|| panic!("not prepared: {statements:?}"));
    assert!(since.1 >= 1, "{since:?}");
    assert!(
        !statements
            .iter()
            .any(|(sql, _)| sql.contains("SKIP LOCKED")),
        "{statements:?}"
    );
    test_postgres::remove(store, &admin, &url).await;
}
