//! The points ledger and the one transaction every points change goes through: append the
//! entry, move the member's balance, lifetime points, tier and version, and emit the
//! `points.changed` / `member.tier_changed` webhook events, all or nothing.

use serde_json::json;
use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use super::members::{MemberRow, MEMBER_COLUMNS};
use super::{Conflict, Store, StoreError};
use crate::clock::{from_micros, to_micros};
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::ledger::{EntryKind, LedgerEntry, PointsChange};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Tiers;
use crate::domain::webhook::{entry_data, member_data, EventType};

#[derive(FromRow)]
struct EntryRow {
    id: i64,
    program_id: String,
    member_id: String,
    kind: String,
    amount: i64,
    balance_after: i64,
    reason: String,
    actor: String,
    idempotency_key: Option<String>,
    fingerprint: String,
    created_at: i64,
}

const ENTRY_COLUMNS: &str =
    "id, program_id, member_id, kind, amount, balance_after, reason, actor, \
     idempotency_key, fingerprint, created_at";

impl TryFrom<EntryRow> for LedgerEntry {
    type Error = StoreError;

    fn try_from(r: EntryRow) -> Result<Self, StoreError> {
        Ok(LedgerEntry {
            kind: EntryKind::parse(&r.kind)
                .map_err(|_| anyhow::anyhow!("ledger entry {} has an invalid kind", r.id))?,
            id: r.id,
            program_id: ProgramId::from_trusted(r.program_id),
            member_id: MemberId::from_trusted(r.member_id),
            amount: r.amount,
            balance_after: r.balance_after,
            reason: r.reason,
            actor: r.actor,
            idempotency_key: r.idempotency_key,
            created_at: from_micros(r.created_at),
        })
    }
}

#[derive(Debug)]
pub struct PointsOutcome {
    pub entry: LedgerEntry,
    pub member: Member,
    /// The idempotency key had been used for this same request: nothing new was applied.
    pub replayed: bool,
    pub tier_changed: bool,
}

/// How a points change inside a transaction went.
// A return value, moved once: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Applied {
    Done(PointsOutcome),
    /// The member is unknown, voided, in another program, or the balance is too low.
    Refused,
    /// The idempotency key is already in the ledger.
    KeyTaken,
}

#[derive(Debug)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    /// Pass as `before` to get older entries.
    pub next_before: Option<i64>,
}

impl Store {
    /// Applies `change` to the member. With an idempotency key, a repeat of the same request
    /// returns the first outcome (`replayed`), and a different request under the same key is
    /// a conflict; the unique index decides, so concurrent repeats cannot both apply.
    pub async fn apply_points(
        &self,
        program_id: &ProgramId,
        member_id: &MemberId,
        tiers: &Tiers,
        change: &PointsChange,
        now: OffsetDateTime,
    ) -> Result<PointsOutcome, StoreError> {
        if let Some(replay) = self.replay(program_id, member_id, change).await? {
            return Ok(replay);
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        match self
            .points_in(&mut tx, program_id, member_id, tiers, change, now)
            .await?
        {
            Applied::Done(outcome) => {
                tx.commit().await?;
                self.jobs_added();
                Ok(outcome)
            }
            Applied::Refused => {
                tx.rollback().await?;
                Err(self.why_not_applied(program_id, member_id).await)
            }
            Applied::KeyTaken => {
                // Another request with this key committed first: undo ours and answer as it did.
                tx.rollback().await?;
                self.replay(program_id, member_id, change)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("idempotency key conflict without a stored entry").into()
                    })
            }
        }
    }

    /// The points change inside the caller's transaction: the member row first (so SQLite
    /// takes its write lock at once and PostgreSQL locks the row), then the ledger entry, the
    /// tier, and the card change. On anything but `Done` the caller rolls back.
    pub(super) async fn points_in(
        &self,
        tx: &mut AnyConnection,
        program_id: &ProgramId,
        member_id: &MemberId,
        tiers: &Tiers,
        change: &PointsChange,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        let amount = change.amount.value();
        let lifetime_delta = if change.kind.counts_toward_lifetime() {
            amount
        } else {
            0
        };
        // Credits always apply; debits only while the balance stays at or above zero, unless
        // the change allows a negative balance.
        let row: Option<MemberRow> = sqlx::query_as(&format!(
            "UPDATE members SET balance = balance + $2, \
             lifetime_points = CASE WHEN lifetime_points + $3 < 0 THEN 0 ELSE lifetime_points + $3 END, \
             version = version + CASE WHEN $2 = 0 THEN 0 ELSE 1 END, updated_at = $4 \
             WHERE id = $1 AND program_id = $6 AND status = 'active' AND ($5 = 1 OR $2 >= 0 OR balance + $2 >= 0) \
             RETURNING {MEMBER_COLUMNS}"
        ))
        .bind(member_id.as_str())
        .bind(amount)
        .bind(lifetime_delta)
        .bind(to_micros(now))
        .bind(i64::from(change.allow_negative))
        .bind(program_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Applied::Refused);
        };
        let mut member = Member::try_from(row)?;
        let entry_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ledger_entries (program_id, member_id, kind, amount, balance_after, reason, actor, \
             idempotency_key, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (program_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(program_id.as_str())
        .bind(member_id.as_str())
        .bind(change.kind.as_str())
        .bind(amount)
        .bind(member.balance)
        .bind(&change.reason)
        .bind(&change.actor)
        .bind(change.idempotency_key.as_ref().map(|k| k.as_str().to_string()))
        .bind(&change.fingerprint)
        .bind(to_micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(entry_id) = entry_id else {
            return Ok(Applied::KeyTaken);
        };
        let new_tier = tiers
            .tier_for(member.lifetime_points)
            .map(|t| t.name.clone());
        let previous_tier = member.tier.clone();
        let tier_changed = new_tier != previous_tier;
        if tier_changed {
            sqlx::query("UPDATE members SET tier = $2 WHERE id = $1")
                .bind(member_id.as_str())
                .bind(new_tier.clone())
                .execute(&mut *tx)
                .await?;
            member.tier = new_tier;
        }
        let entry = LedgerEntry {
            id: entry_id,
            program_id: program_id.clone(),
            member_id: member_id.clone(),
            kind: change.kind,
            amount,
            balance_after: member.balance,
            reason: change.reason.clone(),
            actor: change.actor.clone(),
            idempotency_key: change
                .idempotency_key
                .as_ref()
                .map(|k| k.as_str().to_string()),
            created_at: now,
        };
        if amount != 0 {
            self.member_card_changed(tx, member_id, &member.serial, now)
                .await?;
            let data = json!({ "member": member_data(&member), "entry": entry_data(&entry) });
            self.emit_event(tx, program_id, EventType::PointsChanged, data, now)
                .await?;
        }
        if tier_changed {
            let data = json!({
                "member": member_data(&member),
                "previous_tier": previous_tier,
                "tier": member.tier,
            });
            self.emit_event(tx, program_id, EventType::MemberTierChanged, data, now)
                .await?;
        }
        Ok(Applied::Done(PointsOutcome {
            entry,
            member,
            replayed: false,
            tier_changed,
        }))
    }

    pub(super) async fn replay(
        &self,
        program_id: &ProgramId,
        member_id: &MemberId,
        change: &PointsChange,
    ) -> Result<Option<PointsOutcome>, StoreError> {
        let Some(key) = &change.idempotency_key else {
            return Ok(None);
        };
        let row: Option<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE program_id = $1 AND idempotency_key = $2"
        ))
        .bind(program_id.as_str())
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row.member_id != member_id.as_str() || row.fingerprint != change.fingerprint {
            return Err(StoreError::Conflict(Conflict::IdempotencyKeyReused));
        }
        Ok(Some(PointsOutcome {
            entry: row.try_into()?,
            member: self.member(member_id).await?,
            replayed: true,
            tier_changed: false,
        }))
    }

    pub(super) async fn why_not_applied(
        &self,
        program_id: &ProgramId,
        member_id: &MemberId,
    ) -> StoreError {
        match self.member(member_id).await {
            Ok(m) if &m.program_id != program_id => StoreError::NotFound,
            Ok(m) if m.status == MemberStatus::Voided => {
                StoreError::Conflict(Conflict::MemberVoided)
            }
            Ok(m) => StoreError::Conflict(Conflict::InsufficientPoints { balance: m.balance }),
            Err(e) => e,
        }
    }

    /// Entries newest first, `limit` at a time, older than `before` when given.
    pub async fn ledger(
        &self,
        member_id: &MemberId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<LedgerPage, StoreError> {
        let limit = limit.clamp(1, 500);
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE member_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(member_id.as_str())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut entries = rows
            .into_iter()
            .map(LedgerEntry::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_before = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(LedgerPage {
            entries,
            next_before,
        })
    }

    pub async fn ledger_entry(&self, id: i64) -> Result<LedgerEntry, StoreError> {
        let row: EntryRow = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    /// The sum of a member's entries: what the balance must always equal.
    pub async fn ledger_sum(&self, member_id: &MemberId) -> Result<i64, StoreError> {
        let sum: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries WHERE member_id = $1")
                .bind(member_id.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(sum)
    }
}
