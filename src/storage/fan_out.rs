//! From a changed card to the deliveries it needs: one APNs push per device holding it, and
//! an update of its Google Wallet object if it has one. Each step is one transaction that
//! also records the fan-out job's progress, so a crash never loses or repeats a step.
//!
//! Payloads are built in SQL for throughput (a program-wide change can mean 100,000 jobs).
//! Every value concatenated is parsed before it is stored (pass type ids: letters, digits,
//! '.', '-'; push tokens: hex; member ids: prefix + base32), so the JSON is valid;
//! `Job::from_json` reads it back (tests).

use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::{Store, StoreError};
use crate::clock::to_micros;
use crate::domain::job::Job;

const JOB_INSERT: &str =
    "INSERT INTO outbox_jobs (kind, dedup_key, payload, state, attempts, run_at, created_at)";

/// Columns of an `apple_push` job for registration `r` of device `d`; `$2` is now.
const PUSH_JOB: &str = "SELECT DISTINCT 'apple_push', 'apns:' || r.pass_type_id || ':' || d.push_token, \
     '{\"kind\":\"apple_push\",\"pass_type_id\":\"' || r.pass_type_id || '\",\"push_token\":\"' || d.push_token || '\"}', \
     'pending', 0, $2, $2 FROM apple_registrations r \
     JOIN apple_devices d ON d.device_library_id = r.device_library_id";

/// Columns of a `google_object` job for Google object `g`; `$2` is now.
const GOOGLE_JOB: &str = "SELECT 'google_object', 'google-object:' || g.member_id, \
     '{\"kind\":\"google_object\",\"member_id\":\"' || g.member_id || '\"}', \
     'pending', 0, $2, $2 FROM google_objects g";

const COALESCE: &str = "ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING";

/// Progress of a program-wide fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// Registrations up to this id are handled; more may follow.
    Continue {
        after: i64,
    },
    Finished,
}

impl Store {
    /// Enqueues one push per distinct device holding `serial`, and the Google object update,
    /// and finishes the fan-out job, in one transaction; nothing happens if `worker` no
    /// longer holds the job's lease. Returns how many deliveries were enqueued.
    pub async fn fan_out_card(
        &self,
        job_id: i64,
        worker: &str,
        serial: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let pushes = sqlx::query(&format!(
            "{JOB_INSERT} {PUSH_JOB} WHERE r.serial = $1 {COALESCE}"
        ))
        .bind(serial)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let google = sqlx::query(&format!(
            "{JOB_INSERT} {GOOGLE_JOB} JOIN members m ON m.id = g.member_id WHERE m.serial = $1 {COALESCE}"
        ))
        .bind(serial)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if !finish_held(&mut tx, job_id, worker, now).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        tx.commit().await?;
        Ok(pushes + google)
    }

    /// One step of a program-wide fan-out: pushes for the next `batch` registrations after
    /// `after` (the first step also updates the Google class and every Google object of the
    /// program), with the job's progress saved in the same transaction.
    pub async fn fan_out_program(
        &self,
        (job_id, worker): (i64, &str),
        program: &str,
        after: i64,
        batch: u32,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<FanOut, StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        // Writing first makes SQLite take its write lock before the reads below; a read
        // first would make the later write fail outright when another writer got in between.
        let held = sqlx::query(
            "UPDATE outbox_jobs SET lease_until = $3 WHERE id = $1 AND leased_by = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(worker)
        .bind(to_micros(lease_until))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !held {
            tx.rollback().await?;
            return Ok(FanOut::Finished);
        }
        if after == 0 {
            self.fan_out_google(&mut tx, program, now).await?;
        }
        let upto: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM (SELECT id FROM apple_registrations WHERE program_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3) b",
        )
        .bind(program)
        .bind(after)
        .bind(i64::from(batch.max(1)))
        .fetch_one(&mut *tx)
        .await?;
        let Some(upto) = upto else {
            finish_held(&mut tx, job_id, worker, now).await?;
            tx.commit().await?;
            return Ok(FanOut::Finished);
        };
        sqlx::query(&format!(
            "{JOB_INSERT} {PUSH_JOB} WHERE r.program_id = $1 AND r.id > $3 AND r.id <= $4 {COALESCE}"
        ))
        .bind(program)
        .bind(to_micros(now))
        .bind(after)
        .bind(upto)
        .execute(&mut *tx)
        .await?;
        let payload = Job::ProgramChanged {
            program_id: program.to_string(),
            after: upto,
        }
        .to_json();
        sqlx::query("UPDATE outbox_jobs SET payload = $2 WHERE id = $1")
            .bind(job_id)
            .bind(payload)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(FanOut::Continue { after: upto })
    }

    /// The program's Google class and objects, when it has any.
    async fn fan_out_google(
        &self,
        conn: &mut AnyConnection,
        program: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "{JOB_INSERT} {GOOGLE_JOB} WHERE g.program_id = $1 {COALESCE}"
        ))
        .bind(program)
        .bind(to_micros(now))
        .execute(&mut *conn)
        .await?;
        let objects: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM google_objects WHERE program_id = $1")
                .bind(program)
                .fetch_one(&mut *conn)
                .await?;
        if objects > 0 {
            let class = Job::GoogleClass {
                program_id: program.to_string(),
            };
            super::outbox::enqueue(conn, &class, now, now).await?;
        }
        Ok(())
    }
}

/// Marks the job done if `worker` still holds it.
pub(super) async fn finish_held(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_jobs SET state = 'done', finished_at = $3, lease_until = NULL \
         WHERE id = $1 AND leased_by = $2 AND state = 'running'",
    )
    .bind(job_id)
    .bind(worker)
    .bind(to_micros(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
