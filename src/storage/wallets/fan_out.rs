//! From a changed card to the deliveries it needs: one APNs push per device holding it, and
//! an update of its Google Wallet object if it has one. A changed program becomes push
//! ranges (`apple_pushes` jobs) over its registrations, pushed straight from the table, plus
//! its Google updates. Each step is one transaction that also records the fan-out job's
//! progress, so a crash never loses or repeats a step.
//!
//! A card's push jobs are built in SQL, in the statement that finds the devices. Every value
//! concatenated is parsed before it is stored (pass type ids: letters, digits,
//! '.', '-'; push tokens: hex; member ids: prefix + base32), so the JSON is valid; the
//! storage story (`story_tests.rs`) holds each to the bytes and key `Job` gives it.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::job::Job;
use crate::storage::sql::placeholders;
use crate::storage::{Engine, Store, StoreError};

const JOB_INSERT: &str =
    "INSERT INTO outbox_jobs (kind, dedup_key, payload, state, attempts, run_at, created_at)";

/// Columns of an `apple_push` job for registration `r`; `$1` is now.
const PUSH_JOB: &str = "SELECT DISTINCT 'apple_push', 'apns:' || r.pass_type_id || ':' || r.push_token, \
     '{\"kind\":\"apple_push\",\"pass_type_id\":\"' || r.pass_type_id || '\",\"push_token\":\"' || r.push_token || '\"}', \
     'pending', 0, $1, $1 FROM apple_registrations r";

/// Columns of a `google_object` job for Google object `g`; `$1` is now.
const GOOGLE_JOB: &str = "SELECT 'google_object', 'google-object:' || g.member_id, \
     '{\"kind\":\"google_object\",\"member_id\":\"' || g.member_id || '\"}', \
     'pending', 0, $1, $1 FROM google_objects g";

const COALESCE: &str = "ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING";

/// How a program-wide fan-out splits the registrations: `size` per push range, up to
/// `per_step` ranges written per step (one transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranges {
    pub size: u32,
    pub per_step: usize,
}

impl Ranges {
    /// Ranges of `size`, a hundred per step: 100,000 registrations in one step with the
    /// default size of 1,000.
    pub fn of(size: u32) -> Ranges {
        Ranges {
            size: size.max(1),
            per_step: 100,
        }
    }
}

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
    /// For each of `cards` (a `pass_changed` job's id and its card's serial): enqueues one
    /// push per distinct device holding the card, and its Google object update, and finishes
    /// the job, in one transaction per hundred cards: the card changes a worker claimed take
    /// a few write turns together rather than one each. Cards whose job `worker` no longer
    /// holds are left alone (their new holder fans them out). Returns how many deliveries
    /// were enqueued.
    #[tracing::instrument(name = "store.fan_out_cards", skip_all)]
    pub async fn fan_out_cards(
        &self,
        worker: &str,
        cards: &[(i64, &str)],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        // A hundred cards per write turn: the turns of scans and points waiting behind one
        // wait a millisecond or two, not the time five hundred would take.
        for chunk in cards.chunks(100) {
            let mut writer = self.writer().await?;
            let mut tx = writer.begin().await?;
            let sql = format!(
                "UPDATE outbox_jobs SET state = 'done', finished_at = $1, lease_until = NULL \
                 WHERE leased_by = $2 AND state = 'running' AND id IN ({}) RETURNING id",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query_scalar(&sql)
                .persistent(false)
                .bind(to_micros(now))
                .bind(worker);
            for (id, _) in chunk {
                q = q.bind(*id);
            }
            let held: Vec<i64> = q.fetch_all(&mut *tx).await?;
            let serials: Vec<&str> = chunk
                .iter()
                .filter(|(id, _)| held.contains(id))
                .map(|(_, serial)| *serial)
                .collect();
            if serials.is_empty() {
                tx.commit().await?;
                writer.finish().await?;
                continue;
            }
            let list = placeholders(2, serials.len());
            for sql in [
                format!("{JOB_INSERT} {PUSH_JOB} WHERE r.serial IN ({list}) {COALESCE}"),
                format!(
                    "{JOB_INSERT} {GOOGLE_JOB} JOIN members m ON m.id = g.member_id \
                     WHERE m.serial IN ({list}) {COALESCE}"
                ),
            ] {
                let mut q = sqlx::query(&sql).bind(to_micros(now));
                for serial in &serials {
                    q = q.bind(*serial);
                }
                added += q.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            writer.finish().await?;
        }
        Ok(added)
    }

    /// One step of a program-wide fan-out: an [`Job::ApplePushes`] job for each `ranges.size`
    /// registrations after `after`, up to `ranges.per_step` of them (the first step also
    /// updates the Google class and every Google object of the program), with the job's
    /// progress saved in the same transaction.
    #[tracing::instrument(name = "store.fan_out_program", skip_all)]
    pub async fn fan_out_program(
        &self,
        (job_id, worker): (i64, &str),
        program: &str,
        after: i64,
        ranges: Ranges,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<FanOut, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // Writing first makes SQLite take its write lock before the reads below; a read
        // first would make the later write fail outright when another writer got in between.
        if !renew_held(&mut tx, job_id, worker, lease_until).await? {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(FanOut::Finished);
        }
        if after == 0 {
            self.fan_out_google(&mut tx, program, now).await?;
        }
        let mut jobs = Vec::new();
        let mut from = after;
        while jobs.len() < ranges.per_step.max(1) {
            // The `ranges.size`-th registration after `from` ends the range; the last one
            // ends a shorter last range. Each is one step along the (program_id, id) index.
            let end: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM apple_registrations WHERE program_id = $1 AND id > $2 \
                 ORDER BY id LIMIT 1 OFFSET $3",
            )
            .bind(program)
            .bind(from)
            .bind(i64::from(ranges.size.max(1)) - 1)
            .fetch_optional(&mut *tx)
            .await?;
            let (upto, full) = match end {
                Some(upto) => (upto, true),
                None => {
                    let last: Option<i64> = sqlx::query_scalar(
                        "SELECT MAX(id) FROM apple_registrations WHERE program_id = $1 AND id > $2",
                    )
                    .bind(program)
                    .bind(from)
                    .fetch_one(&mut *tx)
                    .await?;
                    match last {
                        Some(upto) => (upto, false),
                        None => break,
                    }
                }
            };
            jobs.push(Job::ApplePushes {
                program_id: program.to_string(),
                after: from,
                upto,
            });
            from = upto;
            if !full {
                break;
            }
        }
        if jobs.is_empty() {
            finish_held(&mut tx, job_id, worker, now).await?;
            tx.commit().await?;
            writer.finish().await?;
            return Ok(FanOut::Finished);
        }
        crate::storage::operations::outbox::enqueue_many(&mut tx, &jobs, now, now).await?;
        let upto = from;
        let payload = Job::ProgramChanged {
            program_id: program.to_string(),
            after: upto,
        }
        .to_json();
        sqlx::query("UPDATE outbox_jobs SET payload = $2 WHERE id = $1")
            .persistent(false)
            .bind(job_id)
            .bind(payload)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(FanOut::Continue { after: upto })
    }

    /// The devices an [`Job::ApplePushes`] job pushes to: each distinct (pass type id, push
    /// token) among the program's registrations with an id in `after + 1 ..= upto`, except
    /// those a pending `apple_push` job will push anyway (a card of theirs changed in the same
    /// window): one push per device, however many changes.
    pub async fn push_targets(
        &self,
        program: &str,
        after: i64,
        upto: i64,
    ) -> Result<PushTargets, StoreError> {
        // One row for the whole range: sqlx hands SQLite rows over one at a time, from the
        // connection's thread, which would cost more than reading them. A pass type id has
        // no space and a push token is hex, so ' ' and ',' separate them safely. A device
        // holding two of the range's cards appears twice; `PushTargets::distinct` leaves out the
        // second (cheaper than DISTINCT's temporary b-tree in SQLite).
        let concat = match self.engine {
            Engine::Sqlite => "group_concat",
            Engine::Postgres => "string_agg",
        };
        // Each device is looked up among the pending push jobs only when there are any:
        // during a program-wide fan-out there usually are none (its range jobs have keys of
        // their own), and the probe would cost an index search per device.
        let pending_pushes: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbox_jobs WHERE state = 'pending' \
             AND dedup_key >= 'apns:' AND dedup_key < 'apns;' LIMIT 1) pending",
        )
        .persistent(false)
        .fetch_one(&self.pool)
        .await?;
        let not_pending = if pending_pushes > 0 {
            "AND NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE j.state = 'pending' \
             AND j.dedup_key = 'apns:' || targets.pass_type_id || ':' || targets.push_token)"
        } else {
            ""
        };
        // The registrations carry their device's push token: no device is looked up.
        let joined: Option<String> = sqlx::query_scalar(&format!(
            "SELECT {concat}(pass_type_id || ' ' || push_token, ',') FROM apple_registrations targets \
             WHERE program_id = $1 AND id > $2 AND id <= $3 {not_pending}"
        ))
        // Planned afresh only when it looks among the outbox's jobs (`storage::outbox`).
        .persistent(pending_pushes == 0)
        .bind(program)
        .bind(after)
        .bind(upto)
        .fetch_one(&self.pool)
        .await?;
        Ok(PushTargets {
            joined: joined.unwrap_or_default(),
        })
    }

    /// Extends `worker`'s lease on a running job; false when the job is no longer its own.
    #[tracing::instrument(name = "store.renew_lease", skip_all)]
    pub async fn renew_lease(
        &self,
        job_id: i64,
        worker: &str,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let held = renew_held(&mut writer, job_id, worker, lease_until).await?;
        writer.finish().await?;
        Ok(held)
    }

    /// Ends an [`Job::ApplePushes`] job held by `worker` as done with `note`, writing in the
    /// same transaction an `apple_push` job for each push that did not simply succeed:
    /// pending at its retry time, or failed with the reason for operators to see. Nothing
    /// is written if the lease was lost (the new holder pushes the range again).
    #[tracing::instrument(name = "store.finish_pushes", skip_all)]
    pub async fn finish_pushes(
        &self,
        (job_id, worker): (i64, &str),
        follow_ups: &[PushFollowUp],
        note: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let ended = sqlx::query(
            "UPDATE outbox_jobs SET state = 'done', last_error = $3, finished_at = $4, lease_until = NULL \
             WHERE id = $1 AND leased_by = $2 AND state = 'running'",
        )
        .persistent(false)
        .bind(job_id)
        .bind(worker)
        .bind(note)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !ended {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(false);
        }
        for chunk in follow_ups.chunks(100) {
            let rows = (0..chunk.len())
                .map(|i| {
                    let p = 2 + i * 7;
                    let cols: Vec<String> = (p..p + 7).map(|n| format!("${n}")).collect();
                    format!(
                        "({}, {}, {}, {}, 1, {}, {}, $1, {})",
                        cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO outbox_jobs (kind, dedup_key, payload, state, attempts, run_at, last_error, \
                 created_at, finished_at) VALUES {rows} \
                 ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING"
            );
            let mut q = sqlx::query(&sql).bind(to_micros(now));
            for f in chunk {
                let (state, run_at, finished) = match f.retry_at {
                    Some(at) => ("pending", at, None),
                    None => ("failed", now, Some(to_micros(now))),
                };
                q = q
                    .bind(f.job.kind())
                    .bind(f.job.dedup_key())
                    .bind(f.job.to_json())
                    .bind(state)
                    .bind(to_micros(run_at))
                    .bind(f.error.as_str())
                    .bind(finished);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        if follow_ups.iter().any(|f| f.retry_at.is_some()) {
            self.jobs_added();
        }
        Ok(true)
    }

    /// The program's Google class and objects, when it has any.
    async fn fan_out_google(
        &self,
        conn: &mut AnyConnection,
        program: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "{JOB_INSERT} {GOOGLE_JOB} WHERE g.program_id = $2 {COALESCE}"
        ))
        .bind(to_micros(now))
        .bind(program)
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
            crate::storage::operations::outbox::enqueue(conn, &class, now, now).await?;
        }
        Ok(())
    }
}

/// The devices of a push range, as read: (pass type id, push token) pairs, borrowed from
/// one string rather than two allocated per device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushTargets {
    /// "topic token,topic token,...", a device once per card of the range it holds.
    joined: String,
}

impl PushTargets {
    /// Each distinct (pass type id, push token), sorted.
    pub fn distinct(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = self
            .joined
            .split(',')
            .filter_map(|t| t.split_once(' '))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }
}

/// A push of an [`Job::ApplePushes`] range that needs its own `apple_push` job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushFollowUp {
    pub job: Job,
    /// Tried again at this time; `None`: recorded as failed.
    pub retry_at: Option<OffsetDateTime>,
    pub error: String,
}

async fn renew_held(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    lease_until: OffsetDateTime,
) -> Result<bool, StoreError> {
    let renewed = sqlx::query(
        "UPDATE outbox_jobs SET lease_until = $3 WHERE id = $1 AND leased_by = $2 AND state = 'running'",
    )
    .persistent(false)
    .bind(job_id)
    .bind(worker)
    .bind(to_micros(lease_until))
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Marks the job done if `worker` still holds it.
pub(in crate::storage) async fn finish_held(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_jobs SET state = 'done', finished_at = $3, lease_until = NULL \
         WHERE id = $1 AND leased_by = $2 AND state = 'running'",
    )
    .persistent(false)
    .bind(job_id)
    .bind(worker)
    .bind(to_micros(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
