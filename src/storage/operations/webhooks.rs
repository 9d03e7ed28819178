//! Webhook endpoints, and the events sent to them. An event is emitted inside the transaction
//! of the change it reports: one event row, and one outbox job per active endpoint that takes
//! its type, so an event is sent if and only if the change committed.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::ids::{EventId, ProgramId, WebhookId};
use crate::domain::job::Job;
use crate::domain::webhook::{EventType, Subscription, WebhookEndpoint, WebhookSecret, WebhookUrl};
use crate::storage::batch::{Batch, Results, Step};
use crate::storage::{flag, Store, StoreError};

#[derive(FromRow)]
struct EndpointRow {
    id: String,
    program_id: String,
    url: String,
    secret: String,
    events: String,
    active: i64,
    description: Option<String>,
    disabled_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const ENDPOINT_COLUMNS: &str = "id, program_id, url, secret, events, active, description, \
     disabled_reason, created_at, updated_at";

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(r: EndpointRow) -> Result<Self, StoreError> {
        Ok(WebhookEndpoint {
            events: Subscription::from_stored(&r.events)
                .map_err(|_| anyhow::anyhow!("webhook {} has invalid event types", r.id))?,
            id: WebhookId::from_trusted(r.id),
            program_id: ProgramId::from_trusted(r.program_id),
            url: WebhookUrl::from_trusted(r.url),
            secret: WebhookSecret::from_trusted(r.secret),
            active: r.active != 0,
            description: r.description,
            disabled_reason: r.disabled_reason,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        })
    }
}

/// An emitted event, as the worker sends it.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub id: EventId,
    pub program_id: ProgramId,
    pub event_type: String,
    /// The `data` object, as stored JSON text.
    pub data: String,
    pub created_at: OffsetDateTime,
}

#[derive(FromRow)]
struct EventRow {
    id: String,
    program_id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    data: String,
    created_at: i64,
}

/// One event sent (or being sent) to one endpoint, with its outbox job's progress. The job is
/// gone once it finished and `outbox.retention_hours` passed: then `state` is `done` and
/// the attempts are unknown.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub event_type: String,
    pub data: String,
    pub created_at: i64,
    pub job_id: i64,
    pub state: Option<String>,
    pub attempts: Option<i64>,
    pub last_error: Option<String>,
    pub run_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl Store {
    #[tracing::instrument(name = "store.insert_webhook", skip_all)]
    pub async fn insert_webhook(&self, e: &WebhookEndpoint) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(e.id.as_str())
        .bind(e.program_id.as_str())
        .bind(e.url.as_str())
        .bind(e.secret.expose())
        .bind(e.events.to_stored())
        .bind(flag(e.active))
        .bind(e.description.clone())
        .bind(e.disabled_reason.clone())
        .bind(to_micros(e.created_at))
        .bind(to_micros(e.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The program's endpoints, oldest first.
    pub async fn webhooks(&self, program: &ProgramId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE program_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(program.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(WebhookEndpoint::try_from).collect()
    }

    pub async fn webhook(&self, id: &WebhookId) -> Result<WebhookEndpoint, StoreError> {
        let row: EndpointRow = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    /// Saves the endpoint's URL, secret, event types, state and description.
    #[tracing::instrument(name = "store.update_webhook", skip_all)]
    pub async fn update_webhook(
        &self,
        e: &WebhookEndpoint,
        now: OffsetDateTime,
    ) -> Result<WebhookEndpoint, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET url = $2, secret = $3, events = $4, active = $5, \
             description = $6, disabled_reason = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(e.id.as_str())
        .bind(e.url.as_str())
        .bind(e.secret.expose())
        .bind(e.events.to_stored())
        .bind(flag(e.active))
        .bind(e.description.clone())
        .bind(e.disabled_reason.clone())
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.webhook(&e.id).await
    }

    /// Switches the endpoint off with the reason (it answered 410 Gone).
    #[tracing::instrument(name = "store.disable_webhook", skip_all)]
    pub async fn disable_webhook(
        &self,
        id: &WebhookId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET active = 0, disabled_reason = $2, updated_at = $3 \
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(reason)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes the endpoint and its delivery records. False when there was none. Deliveries
    /// still in the outbox end without being sent.
    #[tracing::instrument(name = "store.delete_webhook", skip_all)]
    pub async fn delete_webhook(&self, id: &WebhookId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Emits `event` about `program` inside the caller's transaction: one event row and one
    /// outbox job per active endpoint of the program that takes this type. Writes nothing
    /// when no endpoint takes it. Returns the event's id when one was written.
    ///
    /// Call it after the change's own writes: on SQLite the first statement of a transaction
    /// must write (this one reads first). Wake the workers after the commit
    /// (`job_signal().notify_waiters()`), or they find the jobs on their next poll.
    #[tracing::instrument(name = "store.emit_event", skip_all)]
    pub async fn emit_event(
        &self,
        conn: &mut AnyConnection,
        program: &ProgramId,
        event: EventType,
        data: Value,
        now: OffsetDateTime,
    ) -> Result<Option<EventId>, StoreError> {
        let subscribed = subscribers(conn, program, event).await?;
        self.emit_to(conn, program, &subscribed, event, data, now)
            .await
    }

    /// Emits `event` to those of `endpoints` that take it, if any.
    pub(in crate::storage) async fn emit_to(
        &self,
        conn: &mut AnyConnection,
        program: &ProgramId,
        subscribed: &[WebhookId],
        event: EventType,
        data: Value,
        now: OffsetDateTime,
    ) -> Result<Option<EventId>, StoreError> {
        if subscribed.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            self.write_event(conn, program, event, subscribed, data, now)
                .await?,
        ))
    }

    /// Writes one event for `subscribed` (from [`subscribers`]): the event row, and per
    /// endpoint an outbox job and a delivery record. For callers that emit many events of
    /// one type in one transaction and look the endpoints up once.
    pub(in crate::storage) async fn write_event(
        &self,
        conn: &mut AnyConnection,
        program: &ProgramId,
        event: EventType,
        subscribed: &[WebhookId],
        data: Value,
        now: OffsetDateTime,
    ) -> Result<EventId, StoreError> {
        let id = EventId::generate(&*self.random);
        sqlx::query(
            "INSERT INTO webhook_events (id, program_id, type, data, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(program.as_str())
        .bind(event.as_str())
        .bind(data.to_string())
        .bind(to_micros(now))
        .execute(&mut *conn)
        .await?;
        for endpoint in subscribed {
            let job = Job::webhook(&id, endpoint);
            // The key is unique per event and endpoint, so nothing coalesces it away.
            let job_id: i64 = sqlx::query_scalar(
                "INSERT INTO outbox_jobs (kind, dedup_key, payload, state, attempts, run_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4) RETURNING id",
            )
            .bind(job.kind())
            .bind(job.dedup_key())
            .bind(job.to_json())
            .bind(to_micros(now))
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO webhook_deliveries (event_id, endpoint_id, job_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.as_str())
            .bind(endpoint.as_str())
            .bind(job_id)
            .bind(to_micros(now))
            .execute(&mut *conn)
            .await?;
        }
        Ok(id)
    }

    pub async fn webhook_event(&self, id: &EventId) -> Result<WebhookEvent, StoreError> {
        let row: EventRow = sqlx::query_as(
            "SELECT id, program_id, type, data, created_at FROM webhook_events WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(WebhookEvent {
            id: EventId::from_trusted(row.id),
            program_id: ProgramId::from_trusted(row.program_id),
            event_type: row.event_type,
            data: row.data,
            created_at: from_micros(row.created_at),
        })
    }

    /// What the endpoint was sent, newest first.
    pub async fn webhook_deliveries(
        &self,
        endpoint: &WebhookId,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT e.id AS event_id, e.type AS event_type, e.data, e.created_at, d.job_id, \
             j.state, j.attempts, j.last_error, j.run_at, j.finished_at \
             FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             LEFT JOIN outbox_jobs j ON j.id = d.job_id \
             WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2",
        )
        // Reads outbox jobs: planned afresh (`storage::outbox`).
        .persistent(false)
        .bind(endpoint.as_str())
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes events older than `before` (and their delivery records) once none of their
    /// deliveries is still pending or failed; failed ones stay as long as their job.
    #[tracing::instrument(name = "store.purge_webhook_events", skip_all)]
    pub async fn purge_webhook_events(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM webhook_events WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM webhook_deliveries d JOIN outbox_jobs j ON j.id = d.job_id \
              WHERE d.event_id = webhook_events.id AND j.state <> 'done')",
        )
        // Reads outbox jobs: planned afresh (`storage::outbox`).
        .persistent(false)
        .bind(to_micros(before))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// The program's active endpoints and the events each takes, read once per transaction
/// (see [`Endpoints`]).
const ENDPOINTS_SQL: &str =
    "SELECT id, events FROM webhook_endpoints WHERE program_id = $1 AND active = 1";

/// The read of a program's endpoints as a step of a [`Batch`]: [`EndpointsRead::add`] puts the
/// statement in, [`EndpointsRead::read`] takes its rows.
pub(in crate::storage) struct EndpointsRead(Step);

impl EndpointsRead {
    pub fn add(batch: &mut Batch, program: &ProgramId) -> EndpointsRead {
        EndpointsRead(batch.push(ENDPOINTS_SQL, vec![program.as_str().into()]))
    }

    pub fn read(&self, results: &Results) -> Result<Endpoints, StoreError> {
        Endpoints::from_rows(results.rows(self.0))
    }
}

/// A program's active endpoints, as read in a transaction that may emit several events.
#[derive(Default)]
pub(in crate::storage) struct Endpoints(Vec<(WebhookId, Subscription)>);

impl Endpoints {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// From the rows of [`ENDPOINTS_SQL`]. An endpoint whose stored event types cannot be
    /// read is left out, loudly: one broken row must not stop the change it reports on.
    fn from_rows(rows: &[AnyRow]) -> Result<Endpoints, StoreError> {
        let mut endpoints = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, events): (String, String) = FromRow::from_row(row)?;
            match Subscription::from_stored(&events) {
                Ok(s) => endpoints.push((WebhookId::from_trusted(id), s)),
                Err(_) => tracing::error!(webhook = id, "stored event types unreadable; skipped"),
            }
        }
        Ok(Endpoints(endpoints))
    }

    /// The endpoints that take `event`.
    pub fn taking(&self, event: EventType) -> Vec<WebhookId> {
        self.0
            .iter()
            .filter(|(_, s)| s.includes(event))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The program's active endpoints that take `event`, in the caller's transaction.
pub(in crate::storage) async fn subscribers(
    conn: &mut AnyConnection,
    program: &ProgramId,
    event: EventType,
) -> Result<Vec<WebhookId>, StoreError> {
    let rows = sqlx::query(ENDPOINTS_SQL)
        .bind(program.as_str())
        .fetch_all(&mut *conn)
        .await?;
    Ok(Endpoints::from_rows(&rows)?.taking(event))
}
