//! The outbox table: enqueueing inside a change's transaction, claiming under a lease,
//! finishing, retrying and reclaiming jobs whose worker died.
//!
//! Claiming differs per engine: PostgreSQL locks the rows it takes with `FOR UPDATE SKIP
//! LOCKED`, so instances sharing a database never take the same job; SQLite has one writer
//! at a time, so the claiming UPDATE is atomic on its own. Either way a claimed job is
//! `running` with a lease; only the lease holder can finish it, and a lease that runs out
//! (the worker died) puts the job back.
//!
//! Every statement that finds outbox rows by a condition is prepared for each execution
//! (`.persistent(false)`), here and in `fan_out`. The table swings from empty to a whole
//! fan-out in a moment, and a plan PostgreSQL kept from while it was empty read all 100,000
//! jobs for every claim, seconds each. Planning costs a fraction of a millisecond, next to a
//! batch of jobs. Inserts look for no outbox rows (but their ON CONFLICT key) and keep
//! their prepared statements.

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::job::Job;
use crate::storage::batch::Batch;
use crate::storage::sql::placeholders;
use crate::storage::{is_unique_violation, Engine, Store, StoreError};

/// A job a worker holds the lease on.
#[derive(Debug)]
pub struct ClaimedJob {
    pub id: i64,
    /// The parsed job, or why the stored payload could not be read.
    pub job: Result<Job, String>,
    /// Including this one.
    pub attempts: u32,
    pub created_at: OffsetDateTime,
}

#[derive(FromRow)]
struct ClaimRow {
    id: i64,
    payload: String,
    attempts: i64,
    created_at: i64,
}

/// A stored job as operators see it.
#[derive(Debug, Clone, FromRow)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// How a worker ends its hold on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Done { note: Option<String> },
    Retry { at: OffsetDateTime, error: String },
    Failed { error: String },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: i64,
    pub running: i64,
    pub failed: i64,
    /// Creation time of the oldest pending job (due, or waiting for its retry).
    pub oldest_pending: Option<OffsetDateTime>,
}

/// [`Store::finish_jobs`] inside the caller's transaction.
pub(in crate::storage) async fn finish_in(
    tx: &mut AnyConnection,
    worker: &str,
    results: &[(i64, Finish)],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let done: Vec<i64> = results
        .iter()
        .filter(|(_, f)| *f == Finish::Done { note: None })
        .map(|(id, _)| *id)
        .collect();
    for chunk in done.chunks(500) {
        let sql = format!(
            "UPDATE outbox_jobs SET state = 'done', finished_at = $1, lease_until = NULL \
             WHERE leased_by = $2 AND state = 'running' AND id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut q = sqlx::query(&sql)
            .persistent(false)
            .bind(to_micros(now))
            .bind(worker);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    for (id, finish) in results {
        match finish {
            Finish::Done { note: None } => {}
            Finish::Done { note: Some(note) } => {
                end_job(&mut *tx, *id, worker, "done", note, now).await?
            }
            Finish::Failed { error } => {
                end_job(&mut *tx, *id, worker, "failed", error, now).await?
            }
            Finish::Retry { at, error } => {
                retry_job(&mut *tx, *id, Some(worker), *at, error, now).await?
            }
        }
    }
    Ok(())
}

/// Adds `job` inside the caller's transaction, due at `run_at`. Returns false when a pending
/// job with the same key already covers it.
pub(in crate::storage) async fn enqueue(
    conn: &mut AnyConnection,
    job: &Job,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    Ok(enqueue_many(conn, std::slice::from_ref(job), run_at, now).await? == 1)
}

/// Adds `jobs` inside the caller's transaction, all due at `run_at`, a hundred per statement.
/// Returns how many were added (a pending job with the same key covers the others).
pub(in crate::storage) async fn enqueue_many(
    conn: &mut AnyConnection,
    jobs: &[Job],
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut added = 0;
    for chunk in jobs.chunks(100) {
        let sql = insert_jobs_sql(chunk.len());
        let mut q = sqlx::query(&sql)
            .bind(to_micros(run_at))
            .bind(to_micros(now));
        for job in chunk {
            q = q.bind(job.kind()).bind(job.dedup_key()).bind(job.to_json());
        }
        added += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(added)
}

/// The statement that adds `job`, due at `run_at`, to a [`Batch`].
pub(in crate::storage) fn enqueue_in(
    batch: &mut Batch,
    job: &Job,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) {
    batch.push(
        insert_jobs_sql(1),
        vec![
            to_micros(run_at).into(),
            to_micros(now).into(),
            job.kind().into(),
            job.dedup_key().into(),
            job.to_json().into(),
        ],
    );
}

/// An INSERT of `rows` jobs: `$1` due time, `$2` creation time, then kind, key and payload
/// of each. A pending job with the same key covers the new one.
fn insert_jobs_sql(rows: usize) -> String {
    let values = (0..rows)
        .map(|i| {
            let p = 3 + i * 3;
            format!("(${p}, ${}, ${}, 'pending', 0, $1, $2)", p + 1, p + 2)
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO outbox_jobs (kind, dedup_key, payload, state, attempts, run_at, created_at) \
         VALUES {values} ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING"
    )
}

impl Store {
    /// Adds a job outside any other change (operators' retries, scheduled work).
    #[tracing::instrument(name = "store.enqueue_job", skip_all)]
    pub async fn enqueue_job(
        &self,
        job: &Job,
        run_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let added = enqueue(&mut conn, job, run_at, now).await?;
        self.jobs_added();
        Ok(added)
    }

    /// Takes up to `limit` due jobs for `worker` until `lease_until`.
    #[tracing::instrument(name = "store.claim_jobs", skip_all)]
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        // PostgreSQL: pick the rows once in a CTE, locking them and skipping rows another
        // instance is taking; as `id IN (subquery)` the planner may run the picking subquery
        // once per row. SQLite has one writer at a time, so the plain form is atomic.
        let sql = match self.engine {
            Engine::Postgres => {
                "WITH picked AS (SELECT id FROM outbox_jobs WHERE state = 'pending' AND run_at <= $1 \
                 ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 UPDATE outbox_jobs o SET state = 'running', attempts = o.attempts + 1, lease_until = $2, \
                 leased_by = $3 FROM picked WHERE o.id = picked.id \
                 RETURNING o.id, o.payload, o.attempts, o.created_at"
            }
            Engine::Sqlite => {
                "UPDATE outbox_jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, \
                 leased_by = $3 WHERE id IN (SELECT id FROM outbox_jobs INDEXED BY outbox_due \
                 WHERE state = 'pending' AND run_at <= $1 \
                 ORDER BY run_at, id LIMIT $4) \
                 RETURNING id, payload, attempts, created_at"
            }
        };
        let mut writer = self.writer().await?;
        let rows: Vec<ClaimRow> = sqlx::query_as(sql)
            .persistent(false)
            .bind(to_micros(now))
            .bind(to_micros(lease_until))
            .bind(worker)
            .bind(i64::from(limit))
            .fetch_all(&mut *writer)
            .await?;
        // The claim must be durable before the jobs are worked on.
        writer.finish().await?;
        let mut jobs: Vec<ClaimedJob> = rows
            .into_iter()
            .map(|r| ClaimedJob {
                id: r.id,
                job: Job::from_json(&r.payload).map_err(|e| e.to_string()),
                attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                created_at: from_micros(r.created_at),
            })
            .collect();
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Ends `worker`'s hold on the jobs. A job whose lease was lost meanwhile is left alone.
    #[tracing::instrument(name = "store.finish_jobs", skip_all)]
    pub async fn finish_jobs(
        &self,
        worker: &str,
        results: &[(i64, Finish)],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        finish_in(&mut tx, worker, results, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    /// Puts back jobs whose lease ran out: their worker died or lost the database. A job
    /// that has already had `max_attempts` (one that kills its worker, say) fails instead.
    /// Returns how many were put back or failed.
    #[tracing::instrument(name = "store.reclaim_expired", skip_all)]
    pub async fn reclaim_expired(
        &self,
        now: OffsetDateTime,
        max_attempts: u32,
    ) -> Result<u64, StoreError> {
        let expired: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, attempts FROM outbox_jobs WHERE state = 'running' AND lease_until < $1 ORDER BY id LIMIT 1000",
        )
        .persistent(false)
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for (id, attempts) in &expired {
            if *attempts >= i64::from(max_attempts) {
                sqlx::query(
                    "UPDATE outbox_jobs SET state = 'failed', finished_at = $2, lease_until = NULL, \
                     last_error = 'lease expired on the last attempt: the worker stopped while handling it' \
                     WHERE id = $1 AND state = 'running'",
                )
                .persistent(false)
                .bind(id)
                .bind(to_micros(now))
                .execute(&mut *tx)
                .await?;
            } else {
                let why = "lease expired: the worker stopped";
                retry_job(&mut tx, *id, None, now, why, now).await?;
            }
        }
        tx.commit().await?;
        writer.finish().await?;
        Ok(expired.len() as u64)
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let (pending, running, failed, oldest): (i64, i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM outbox_jobs WHERE state = 'failed'), \
             MIN(CASE WHEN state = 'pending' THEN created_at END) \
             FROM outbox_jobs WHERE state IN ('pending', 'running')",
        )
        .persistent(false)
        .fetch_one(&self.pool)
        .await?;
        Ok(OutboxStats {
            pending,
            running,
            failed,
            oldest_pending: oldest.map(from_micros),
        })
    }

    /// Jobs in `state`, newest first.
    pub async fn jobs_in_state(
        &self,
        state: &str,
        limit: u32,
    ) -> Result<Vec<JobRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, payload, state, attempts, run_at, last_error, created_at, finished_at \
             FROM outbox_jobs WHERE state = $1 ORDER BY id DESC LIMIT $2",
        )
        .persistent(false)
        .bind(state)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sends a failed job again. False when no failed job has that id.
    #[tracing::instrument(name = "store.retry_failed_job", skip_all)]
    pub async fn retry_failed_job(&self, id: i64, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // A fresh start: the job gets its full number of attempts again.
        let found = sqlx::query(
            "UPDATE outbox_jobs SET state = 'running', leased_by = 'operator', attempts = 0 \
             WHERE id = $1 AND state = 'failed'",
        )
        .persistent(false)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            return Ok(false);
        }
        retry_job(
            &mut tx,
            id,
            Some("operator"),
            now,
            "retried by an operator",
            now,
        )
        .await?;
        tx.commit().await?;
        writer.finish().await?;
        self.jobs_added();
        Ok(true)
    }

    /// Deletes finished jobs older than `before`; failed ones stay for operators.
    #[tracing::instrument(name = "store.purge_done_jobs", skip_all)]
    pub async fn purge_done_jobs(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM outbox_jobs WHERE state = 'done' AND finished_at < $1")
            .persistent(false)
            .bind(to_micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

async fn end_job(
    conn: &mut AnyConnection,
    id: i64,
    worker: &str,
    state: &str,
    note: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox_jobs SET state = $3, last_error = $4, finished_at = $5, lease_until = NULL \
         WHERE id = $1 AND leased_by = $2 AND state = 'running'",
    )
    .persistent(false)
    .bind(id)
    .bind(worker)
    .bind(state)
    .bind(note)
    .bind(to_micros(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Back to pending at `at`. When a newer pending job with the same key exists it already
/// covers this one, which then ends as superseded. `worker` None takes any holder (reclaim).
async fn retry_job(
    conn: &mut AnyConnection,
    id: i64,
    worker: Option<&str>,
    at: OffsetDateTime,
    error: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    // A savepoint, so that a unique violation does not abort the surrounding transaction.
    sqlx::query("SAVEPOINT retry_job")
        .execute(&mut *conn)
        .await?;
    let result = sqlx::query(
        "UPDATE outbox_jobs SET state = 'pending', run_at = $3, last_error = $4, lease_until = NULL, \
         leased_by = NULL WHERE id = $1 AND state = 'running' AND ($2 IS NULL OR leased_by = $2)",
    )
    .persistent(false)
    .bind(id)
    .bind(worker.map(str::to_string))
    .bind(to_micros(at))
    .bind(error)
    .execute(&mut *conn)
    .await;
    match result {
        Ok(_) => {
            sqlx::query("RELEASE SAVEPOINT retry_job")
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
        Err(e) if is_unique_violation(&e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT retry_job")
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE outbox_jobs SET state = 'done', finished_at = $2, lease_until = NULL, \
                 last_error = 'superseded by a newer job for the same target' WHERE id = $1",
            )
            .persistent(false)
            .bind(id)
            .bind(to_micros(now))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
