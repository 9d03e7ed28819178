//! Console imports: the uploaded file and its progress in `member_imports`, so any instance can
//! show, check and run it; who the program has already (to leave those rows out); and the
//! good rows written a chunk at a time, each member with their opening balance as a ledger
//! entry, in the same transaction as the import's progress.

use std::collections::HashSet;

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros, Random};
use crate::domain::distribution::ConsentSource;
use crate::domain::ids::{ImportId, ProgramId};
use crate::domain::import::mapped::{Existing, GoodRow, Mapping};
use crate::domain::import::RowError;
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::storage::loyalty::members::insert_members_in;
use crate::storage::{Store, StoreError};

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    Uploaded,
    Checked,
    Running,
    Done,
}

impl ImportStatus {
    /// As stored, and as the progress answer names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Uploaded => "uploaded",
            ImportStatus::Checked => "checked",
            ImportStatus::Running => "running",
            ImportStatus::Done => "done",
        }
    }

    fn parse(s: &str) -> ImportStatus {
        match s {
            "checked" => ImportStatus::Checked,
            "running" => ImportStatus::Running,
            "done" => ImportStatus::Done,
            _ => ImportStatus::Uploaded,
        }
    }
}

/// An uploaded file and how far its import got.
#[derive(Debug, Clone)]
pub struct ImportFile {
    pub id: ImportId,
    pub program_id: ProgramId,
    pub created_by: String,
    pub file_name: String,
    pub content: Vec<u8>,
    pub sha256: String,
    pub mapping: Option<Mapping>,
    pub status: ImportStatus,
    pub total_rows: i64,
    pub good_rows: i64,
    pub done_rows: i64,
    pub imported: i64,
    pub problems: Vec<RowError>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(FromRow)]
struct ImportRowDb {
    id: String,
    program_id: String,
    created_by: String,
    file_name: String,
    content: Vec<u8>,
    sha256: String,
    mapping: Option<String>,
    status: String,
    total_rows: i64,
    good_rows: i64,
    done_rows: i64,
    imported: i64,
    problems: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ImportRowDb> for ImportFile {
    type Error = StoreError;

    fn try_from(r: ImportRowDb) -> Result<Self, StoreError> {
        let bad =
            |e: serde_json::Error| StoreError::Unexpected(anyhow::anyhow!("member_imports: {e}"));
        Ok(ImportFile {
            id: ImportId::from_trusted(r.id),
            program_id: ProgramId::from_trusted(r.program_id),
            created_by: r.created_by,
            file_name: r.file_name,
            content: r.content,
            sha256: r.sha256,
            mapping: r
                .mapping
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(bad)?,
            status: ImportStatus::parse(&r.status),
            total_rows: r.total_rows,
            good_rows: r.good_rows,
            done_rows: r.done_rows,
            imported: r.imported,
            problems: r
                .problems
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(bad)?
                .unwrap_or_default(),
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        })
    }
}

const COLUMNS: &str = "id, program_id, created_by, file_name, content, sha256, mapping, status, \
     total_rows, good_rows, done_rows, imported, problems, created_at, updated_at";

impl Store {
    /// Keeps an uploaded file, its rows counted.
    pub async fn add_import_file(&self, f: &ImportFile) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO member_imports (id, program_id, created_by, file_name, content, sha256, \
             status, total_rows, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'uploaded', $7, $8, $8)",
        )
        .bind(f.id.as_str())
        .bind(f.program_id.as_str())
        .bind(&f.created_by)
        .bind(&f.file_name)
        .bind(f.content.clone())
        .bind(&f.sha256)
        .bind(f.total_rows)
        .bind(to_micros(f.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn import_file(&self, id: &ImportId) -> Result<ImportFile, StoreError> {
        let row: Option<ImportRowDb> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM member_imports WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The program's latest imports, newest first (with their content, which is small).
    pub async fn import_files(&self, program: &ProgramId) -> Result<Vec<ImportFile>, StoreError> {
        let rows: Vec<ImportRowDb> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM member_imports WHERE program_id = $1 ORDER BY created_at DESC, id LIMIT 20"
        ))
        .bind(program.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ImportFile::try_from).collect()
    }

    /// Saves how the file is read and what the check found.
    pub async fn set_import_checked(
        &self,
        id: &ImportId,
        mapping: &Mapping,
        good: i64,
        problems: &[RowError],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let json = |v: serde_json::Result<String>| v.map_err(|e| StoreError::Unexpected(e.into()));
        sqlx::query(
            "UPDATE member_imports SET mapping = $2, good_rows = $3, problems = $4, updated_at = $5, \
             status = CASE WHEN status = 'uploaded' THEN 'checked' ELSE status END WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(json(serde_json::to_string(mapping))?)
        .bind(good)
        .bind(json(serde_json::to_string(problems))?)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the import running; `false` when it is not waiting to run (running on this
    /// instance or another, or done). An import that stopped moving for `stalled` (its
    /// instance went away) may be started again.
    pub async fn start_import(
        &self,
        id: &ImportId,
        now: OffsetDateTime,
        stalled: time::Duration,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE member_imports SET status = 'running', done_rows = 0, updated_at = $2 \
             WHERE id = $1 AND (status = 'checked' OR (status = 'running' AND updated_at < $3))",
        )
        .bind(id.as_str())
        .bind(to_micros(now))
        .bind(to_micros(now - stalled))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks the import done.
    pub async fn finish_import(
        &self,
        id: &ImportId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE member_imports SET status = 'done', updated_at = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The program's members' emails (lower case), phones and external ids.
    pub async fn existing_contacts(&self, program: &ProgramId) -> Result<Existing, StoreError> {
        let rows: Vec<(Option<String>, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT email, phone, external_id FROM members WHERE program_id = $1")
                .bind(program.as_str())
                .fetch_all(&self.pool)
                .await?;
        let mut existing = Existing::default();
        for (email, phone, external) in rows {
            existing.emails.extend(email.map(|e| e.to_lowercase()));
            existing.phones.extend(phone);
            existing.external_ids.extend(external);
        }
        Ok(existing)
    }

    /// Enrolls `rows` of import `id` in one transaction: each member with their opening
    /// balance (a ledger entry "Opening balance") and the points ever earned their tier needs;
    /// the import's progress moves on in the same transaction. Returns how many were enrolled.
    pub async fn import_chunk(
        &self,
        program: &Program,
        id: &ImportId,
        rows: &[GoodRow],
        actor: &str,
        rng: &dyn Random,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let members: Vec<Member> = rows
            .iter()
            .map(|r| {
                let mut m = Member::enroll(program, r.member.clone(), rng, now);
                let floor = r
                    .tier
                    .as_deref()
                    .and_then(|t| program.tiers.by_name(t))
                    .map_or(0, |t| t.threshold);
                m.balance = r.balance;
                m.lifetime_points = r.balance.max(floor);
                m.tier = program
                    .tiers
                    .tier_for(m.lifetime_points)
                    .map(|t| t.name.clone());
                m
            })
            .collect();
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        insert_members_in(&mut tx, &members, ConsentSource::Import).await?;
        for (m, r) in members.iter().zip(rows).filter(|(m, _)| m.balance > 0) {
            sqlx::query(
                "INSERT INTO ledger_entries (program_id, member_id, kind, amount, balance_after, \
                 reason, actor, idempotency_key, fingerprint, created_at) \
                 VALUES ($1, $2, 'adjust', $3, $3, 'Opening balance (import)', $4, $5, $6, $7)",
            )
            .bind(program.id.as_str())
            .bind(m.id.as_str())
            .bind(m.balance)
            .bind(actor)
            .bind(format!("{}-{}", id.as_str(), r.row))
            .bind(format!("import:{}:{}", id.as_str(), r.row))
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE member_imports SET done_rows = done_rows + $2, imported = imported + $2, \
             updated_at = $3 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(rows.len() as i64)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(members.len())
    }
}

/// Row numbers of a problem list, each once.
pub fn problem_rows(problems: &[RowError]) -> HashSet<usize> {
    problems.iter().map(|p| p.row).collect()
}
