//! The audit log: who did what in the console, when, and the state before and after. Each
//! entry is written in the transaction of the change it records.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::ids::ProgramId;
use crate::storage::{Store, StoreError};

/// An entry to write with a change.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// `user:<id>`, `api_key:<id>` or `cli`.
    pub actor: &'a str,
    /// What was done: `user.invite`, `session.sign_in`, …
    pub action: &'a str,
    pub program_id: Option<&'a ProgramId>,
    /// What it was done to: `user:<id>`, `member:<id>`, …
    pub subject: Option<&'a str>,
    /// JSON of the state before and after, where there is one.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub program_id: Option<String>,
    pub subject: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    program_id: Option<String>,
    subject: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

pub(in crate::storage) async fn record(
    conn: &mut sqlx::AnyConnection,
    e: &AuditEntry<'_>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, program_id, subject, before, after) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(to_micros(now))
    .bind(e.actor)
    .bind(e.action)
    .bind(e.program_id.map(|p| p.as_str().to_string()))
    .bind(e.subject.map(str::to_string))
    .bind(e.before.clone())
    .bind(e.after.clone())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Writes an entry on its own, for what changes nothing else stored.
    pub async fn audit(&self, e: &AuditEntry<'_>, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        record(&mut conn, e, now).await
    }

    /// The newest entries first, those before id `before` (a page's last id) when given.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, program_id, subject, before, after FROM audit_log \
             WHERE $1 IS NULL OR id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                at: from_micros(r.at),
                actor: r.actor,
                action: r.action,
                program_id: r.program_id,
                subject: r.subject,
                before: r.before,
                after: r.after,
            })
            .collect())
    }
}
