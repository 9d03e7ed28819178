//! Programs, their design, tiers, earn rules and uploaded images.

use std::sync::Arc;

use anyhow::Context;
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::{from_micros, from_seconds, to_micros};
use crate::domain::apple_ids::{PassTypeId, TeamId};
use crate::domain::events;
use crate::domain::expiry::ExpiryPolicy;
use crate::domain::ids::ProgramId;
use crate::domain::member::Member;
use crate::domain::program::{Design, EarnRules, Program, Tiers};
use crate::domain::webhook::EventType;
use crate::storage::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use crate::storage::operations::webhooks::subscribers;
use crate::storage::{Store, StoreError};

#[derive(FromRow)]
struct ProgramRow {
    id: String,
    name: String,
    organization: String,
    pass_type_id: String,
    team_id: String,
    design: String,
    tiers: String,
    earn_rules: String,
    design_version: i64,
    created_at: i64,
    updated_at: i64,
    pass_modified: i64,
    expiry: String,
}

const PROGRAM_COLUMNS: &str =
    "id, name, organization, pass_type_id, team_id, design, tiers, earn_rules, \
     design_version, created_at, updated_at, pass_modified, expiry";

impl TryFrom<ProgramRow> for Program {
    type Error = StoreError;

    fn try_from(r: ProgramRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| anyhow::anyhow!("stored program {} has an invalid {what}", r.id);
        let expiry = serde_json::from_str::<Option<ExpiryPolicy>>(&r.expiry)
            .map_err(|_| corrupt("expiry policy"))?;
        Ok(Program {
            pass_type_id: PassTypeId::parse(&r.pass_type_id)
                .map_err(|_| corrupt("pass type id"))?,
            team_id: TeamId::parse(&r.team_id).map_err(|_| corrupt("team id"))?,
            design: serde_json::from_str::<Design>(&r.design).map_err(|_| corrupt("design"))?,
            tiers: serde_json::from_str::<Tiers>(&r.tiers).map_err(|_| corrupt("tiers"))?,
            earn_rules: serde_json::from_str::<EarnRules>(&r.earn_rules)
                .map_err(|_| corrupt("earn rules"))?,
            id: ProgramId::from_trusted(r.id),
            name: r.name,
            organization: r.organization,
            design_version: r.design_version,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
            pass_modified: from_seconds(r.pass_modified),
            expiry,
        })
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value).context("serialising program settings")?)
}

/// An uploaded image: file name inside the pass (`logo@2x.png`) and its bytes.
#[derive(Debug, Clone, FromRow)]
pub struct StoredImage {
    pub name: String,
    pub content: Vec<u8>,
}

impl Store {
    #[tracing::instrument(name = "store.insert_program", skip_all)]
    pub async fn insert_program(&self, p: &Program) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO programs (id, name, organization, pass_type_id, team_id, design, tiers, earn_rules, \
             design_version, created_at, updated_at, pass_modified, expiry) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(p.id.as_str())
        .bind(&p.name)
        .bind(&p.organization)
        .bind(p.pass_type_id.as_str())
        .bind(p.team_id.as_str())
        .bind(json(&p.design)?)
        .bind(json(&p.tiers)?)
        .bind(json(&p.earn_rules)?)
        .bind(p.design_version)
        .bind(to_micros(p.created_at))
        .bind(to_micros(p.updated_at))
        .bind(p.pass_modified.unix_timestamp())
        .bind(json(&p.expiry)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets or clears the program's points expiry. The design version moves so every cached
    /// copy of the program is replaced; what cards show does not change by itself.
    #[tracing::instrument(name = "store.set_expiry", skip_all)]
    pub async fn set_expiry(
        &self,
        id: &ProgramId,
        policy: Option<&ExpiryPolicy>,
        now: OffsetDateTime,
    ) -> Result<Program, StoreError> {
        let done = sqlx::query(
            "UPDATE programs SET expiry = $2, design_version = design_version + 1, updated_at = $3 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(json(&policy)?)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.program(id).await
    }

    /// Programs whose points expire.
    pub async fn programs_with_expiry(&self) -> Result<Vec<Program>, StoreError> {
        let rows: Vec<ProgramRow> = sqlx::query_as(&format!(
            "SELECT {PROGRAM_COLUMNS} FROM programs WHERE expiry <> 'null' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Program::try_from).collect()
    }

    /// The program as of `design_version`, parsed once per version and then served from memory.
    pub async fn program_at(
        &self,
        id: &ProgramId,
        design_version: i64,
    ) -> Result<Arc<Program>, StoreError> {
        if let Some(p) = self.programs.lock().ok().and_then(|m| m.get(id).cloned()) {
            if p.design_version == design_version {
                return Ok(p);
            }
        }
        let program = Arc::new(self.program(id).await?);
        if let Ok(mut cache) = self.programs.lock() {
            cache.insert(id.clone(), program.clone());
        }
        Ok(program)
    }

    pub async fn program(&self, id: &ProgramId) -> Result<Program, StoreError> {
        let row: ProgramRow = sqlx::query_as(&format!(
            "SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    /// All programs, or only `scope` for a key limited to one program.
    pub async fn programs(&self, scope: Option<&ProgramId>) -> Result<Vec<Program>, StoreError> {
        let rows: Vec<ProgramRow> = match scope {
            Some(id) => {
                sqlx::query_as(&format!(
                    "SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = $1"
                ))
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(&format!(
                    "SELECT {PROGRAM_COLUMNS} FROM programs ORDER BY created_at, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.into_iter().map(Program::try_from).collect()
    }

    /// Saves name, organization, design and earn rules, bumping the design version.
    /// Tiers go through [`Store::set_tiers`], which also moves members between tiers.
    #[tracing::instrument(name = "store.update_program", skip_all)]
    pub async fn update_program(
        &self,
        p: &Program,
        now: OffsetDateTime,
    ) -> Result<Program, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE programs SET name = $2, organization = $3, design = $4, earn_rules = $5, \
             design_version = design_version + 1, updated_at = $6 WHERE id = $1",
        )
        .bind(p.id.as_str())
        .bind(&p.name)
        .bind(&p.organization)
        .bind(json(&p.design)?)
        .bind(json(&p.earn_rules)?)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.program_cards_changed(&mut tx, &p.id, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        self.program_change_added();
        self.program(&p.id).await
    }

    /// Replaces the tiers and, in the same transaction, recomputes every member's tier from
    /// lifetime points, bumping the version of each member whose tier changed.
    #[tracing::instrument(name = "store.set_tiers", skip_all)]
    pub async fn set_tiers(
        &self,
        id: &ProgramId,
        tiers: &Tiers,
        now: OffsetDateTime,
    ) -> Result<Program, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE programs SET tiers = $2, design_version = design_version + 1, updated_at = $3 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(json(tiers)?)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // CASE over the thresholds, highest first: $first, $first+1 are the highest tier's
        // threshold and name, and so on down.
        let case = |first: usize| {
            let mut case = String::from("CASE");
            for i in 0..tiers.as_slice().len() {
                let arg = first + 2 * i;
                case.push_str(&format!(
                    " WHEN lifetime_points >= ${arg} THEN ${}",
                    arg + 1
                ));
            }
            case.push_str(" ELSE NULL END");
            case
        };
        // Members whose tier was set by hand keep it.
        let moves = |first: usize| {
            if tiers.as_slice().is_empty() {
                "tier_held = 0 AND tier IS NOT NULL".to_string()
            } else {
                format!("tier_held = 0 AND tier IS DISTINCT FROM ({})", case(first))
            }
        };
        let new_tier = if tiers.as_slice().is_empty() {
            "NULL".to_string()
        } else {
            case(3)
        };
        let sql = format!(
            "UPDATE members SET tier = {new_tier}, version = version + 1, updated_at = $2 \
             WHERE program_id = $1 AND {}",
            moves(3)
        );
        // Members whose tier moves, as they are before the change, when an endpoint wants
        // to hear of it: `member.tier_changed` for each, as a points change sends.
        let subscribed = subscribers(&mut tx, id, EventType::MemberTierChanged).await?;
        let moving: Vec<Member> = if subscribed.is_empty() {
            Vec::new()
        } else {
            let select = format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND {}",
                moves(2)
            );
            let mut q = sqlx::query_as::<_, MemberRow>(&select).bind(id.as_str());
            for t in tiers.as_slice().iter().rev() {
                q = q.bind(t.threshold).bind(t.name.clone());
            }
            q.fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(Member::try_from)
                .collect::<Result<_, _>>()?
        };
        let mut q = sqlx::query(&sql).bind(id.as_str()).bind(to_micros(now));
        for t in tiers.as_slice().iter().rev() {
            q = q.bind(t.threshold).bind(t.name.clone());
        }
        q.execute(&mut *tx).await?;
        for mut m in moving {
            let previous_tier = m.tier.take();
            m.tier = tiers.tier_for(m.lifetime_points).map(|t| t.name.clone());
            m.version += 1;
            m.updated_at = now;
            let event = events::tier_changed(&m, previous_tier.as_deref());
            self.write_event(&mut tx, id, event.kind, &subscribed, event.data, now)
                .await?;
        }
        self.program_cards_changed(&mut tx, id, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        if !subscribed.is_empty() {
            self.jobs_added();
        } else {
            self.program_change_added();
        }
        self.program(id).await
    }

    /// Writes `files` (name, PNG) and removes `remove` in one transaction, bumping the design
    /// version once: an upload's every scale lands together or not at all. `false` when there
    /// was nothing to write and nothing of `remove` was stored.
    #[tracing::instrument(name = "store.replace_images", skip_all)]
    pub async fn replace_images(
        &self,
        id: &ProgramId,
        files: &[(String, Vec<u8>)],
        remove: &[String],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM programs WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let mut removed = 0;
        for name in remove {
            removed +=
                sqlx::query("DELETE FROM program_images WHERE program_id = $1 AND name = $2")
                    .bind(id.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
        }
        if files.is_empty() && removed == 0 {
            return Ok(false);
        }
        for (name, content) in files {
            sqlx::query(
                "INSERT INTO program_images (program_id, name, content, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (program_id, name) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
            )
            .bind(id.as_str())
            .bind(name)
            .bind(content)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE programs SET design_version = design_version + 1, updated_at = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        self.program_cards_changed(&mut tx, id, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        self.program_change_added();
        Ok(true)
    }

    pub async fn images(&self, id: &ProgramId) -> Result<Vec<StoredImage>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, content FROM program_images WHERE program_id = $1 ORDER BY name",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}
