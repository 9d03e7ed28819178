//! The points ledger and the one transaction every points change goes through: append the
//! entry, move the member's balance, lifetime points, tier and version, and emit the
//! `points.changed` / `member.tier_changed` webhook events, all or nothing.

use sqlx::{AnyConnection, FromRow, Row};
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::events;
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::job::Job;
use crate::domain::ledger::{EntryKind, LedgerEntry, PointsChange};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Tiers;
use crate::storage::batch::{Arg, Batch, Results, Step};
use crate::storage::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use crate::storage::operations::outbox::enqueue_in;
use crate::storage::operations::webhooks::{Endpoints, EndpointsRead};
use crate::storage::{Conflict, Store, StoreError};

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

/// A page of a member's ledger, newest first, read as a step of a [`Batch`]: one entry more
/// than `limit`, which tells whether there is a next page.
pub(in crate::storage) struct LedgerRead {
    step: Step,
    limit: usize,
}

impl LedgerRead {
    pub fn add(
        batch: &mut Batch,
        member_id: &MemberId,
        before: Option<i64>,
        limit: u32,
    ) -> LedgerRead {
        let limit = limit.clamp(1, 500);
        let step = batch.push(
            format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE member_id = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ),
            vec![
                member_id.as_str().into(),
                before.unwrap_or(i64::MAX).into(),
                (i64::from(limit) + 1).into(),
            ],
        );
        LedgerRead {
            step,
            limit: limit as usize,
        }
    }

    pub fn read(&self, results: &Results) -> Result<LedgerPage, StoreError> {
        let mut entries = results
            .rows(self.step)
            .iter()
            .map(|r| LedgerEntry::try_from(EntryRow::from_row(r)?))
            .collect::<Result<Vec<_>, _>>()?;
        let next_before = if entries.len() > self.limit {
            entries.truncate(self.limit);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(LedgerPage {
            entries,
            next_before,
        })
    }
}

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
pub(in crate::storage) enum Applied {
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

/// A points change as steps of a [`Batch`], both halves in one place: [`PointsWrite::add`]
/// puts its statements in, [`PointsWrite::outcome`] reads what they did and writes what
/// follows from it.
pub(in crate::storage) struct PointsWrite<'a> {
    member: Step,
    entry: Step,
    program_id: &'a ProgramId,
    change: &'a PointsChange,
    now: OffsetDateTime,
}

impl<'a> PointsWrite<'a> {
    /// Adds a points change to the caller's batch: the member row first (so PostgreSQL locks
    /// it), moved and, when the balance moves, stamped as a changed card (after SQLite's
    /// change clock ticks); then the ledger entry, written only for a member the update
    /// found, with the balance it left; then the card's outbox job. Every statement runs
    /// whatever the others did: [`PointsWrite::outcome`] reads what happened.
    pub fn add(
        store: &Store,
        batch: &mut Batch,
        program_id: &'a ProgramId,
        member: &Member,
        change: &'a PointsChange,
        now: OffsetDateTime,
    ) -> PointsWrite<'a> {
        let amount = change.amount.value();
        let lifetime_delta = if change.kind.counts_toward_lifetime() {
            amount
        } else {
            0
        };
        let moves = amount != 0;
        if let Some(tick) = store.tick_sql().filter(|_| moves) {
            batch.push(tick, Vec::new());
        }
        let mut args: Vec<Arg> = vec![
            member.id.as_str().into(),
            amount.into(),
            lifetime_delta.into(),
            to_micros(now).into(),
            i64::from(change.allow_negative).into(),
            program_id.as_str().into(),
        ];
        let stamp = if moves {
            args.push(now.unix_timestamp().into());
            format!(", version = version + 1, {}", store.card_stamp_sql(7))
        } else {
            String::new()
        };
        // Credits always apply; debits only while the balance stays at or above zero, unless
        // the change allows a negative balance.
        let member_step = batch.push(
            format!(
                "UPDATE members SET balance = balance + $2, \
                 lifetime_points = CASE WHEN lifetime_points + $3 < 0 THEN 0 ELSE lifetime_points + $3 END, \
                 updated_at = $4{stamp} \
                 WHERE id = $1 AND program_id = $6 AND status = 'active' AND ($5 = 1 OR $2 >= 0 OR balance + $2 >= 0) \
                 RETURNING {MEMBER_COLUMNS}"
            ),
            args,
        );
        // The member's row, as the update left it, gives the balance.
        let entry = batch.push(
            "INSERT INTO ledger_entries (program_id, member_id, kind, amount, balance_after, reason, actor, \
             idempotency_key, fingerprint, created_at) \
             SELECT $1, $2, $3, $4, m.balance, $5, $6, $7, $8, $9 FROM members m \
             WHERE m.id = $2 \
             ON CONFLICT (program_id, idempotency_key) DO NOTHING RETURNING id",
            vec![
                program_id.as_str().into(),
                member.id.as_str().into(),
                change.kind.as_str().into(),
                amount.into(),
                change.reason.clone().into(),
                change.actor.clone().into(),
                change.idempotency_key.as_ref().map(|k| k.as_str()).into(),
                change.fingerprint.clone().into(),
                to_micros(now).into(),
            ],
        );
        if moves {
            enqueue_in(
                batch,
                &Job::pass_changed(&member.serial),
                now + store.change_delay,
                now,
            );
        }
        PointsWrite {
            member: member_step,
            entry,
            program_id,
            change,
            now,
        }
    }

    /// How the points change went, and on success what follows from it in the
    /// same transaction: the tier, and the webhook events for `endpoints`. On anything but
    /// `Done` the caller rolls back.
    pub async fn outcome(
        &self,
        store: &Store,
        tx: &mut AnyConnection,
        results: &Results,
        tiers: &Tiers,
        endpoints: &Endpoints,
    ) -> Result<Applied, StoreError> {
        let (program_id, change, now) = (self.program_id, self.change, self.now);
        let Some(row) = results.first(self.member) else {
            return Ok(Applied::Refused);
        };
        let mut member = Member::try_from(MemberRow::from_row(row)?)?;
        let Some(entry) = results.first(self.entry) else {
            return Ok(Applied::KeyTaken);
        };
        let entry_id: i64 = entry.try_get(0)?;
        let amount = change.amount.value();
        // A tier set by hand holds whatever the points do.
        let moved = (!member.tier_held)
            .then(|| tiers.move_for(member.tier.as_deref(), member.lifetime_points))
            .flatten();
        if let Some(moved) = &moved {
            sqlx::query("UPDATE members SET tier = $2 WHERE id = $1")
                .bind(member.id.as_str())
                .bind(moved.tier.clone())
                .execute(&mut *tx)
                .await?;
            member.tier = moved.tier.clone();
        }
        let entry = LedgerEntry {
            id: entry_id,
            program_id: program_id.clone(),
            member_id: member.id.clone(),
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
        for event in events::points_events(&member, &entry, moved.as_ref()) {
            let subscribed = endpoints.taking(event.kind);
            if !subscribed.is_empty() {
                store
                    .emit_to(tx, program_id, &subscribed, event.kind, event.data, now)
                    .await?;
            }
        }
        Ok(Applied::Done(PointsOutcome {
            entry,
            member,
            replayed: false,
            tier_changed: moved.is_some(),
        }))
    }
}

impl Store {
    /// Applies `change` to the member. With an idempotency key, a repeat of the same request
    /// returns the first outcome (`replayed`), and a different request under the same key is
    /// a conflict; the unique index decides, so concurrent repeats cannot both apply.
    #[tracing::instrument(name = "store.apply_points", skip_all)]
    pub async fn apply_points(
        &self,
        program_id: &ProgramId,
        member: &Member,
        tiers: &Tiers,
        change: &PointsChange,
        now: OffsetDateTime,
    ) -> Result<PointsOutcome, StoreError> {
        if let Some(replay) = self.replay(program_id, &member.id, change).await? {
            return Ok(replay);
        }
        let mut batch = Batch::new();
        let write = PointsWrite::add(self, &mut batch, program_id, member, change, now);
        let endpoints = EndpointsRead::add(&mut batch, program_id);
        let mut writer = self.writer().await?;
        let (mut tx, results) = writer.begin_with(batch).await?;
        let endpoints = endpoints.read(&results)?;
        match write
            .outcome(self, &mut tx, &results, tiers, &endpoints)
            .await?
        {
            Applied::Done(outcome) => {
                tx.commit().await?;
                writer.finish().await?;
                self.change_jobs_added(change.amount.value() != 0, &endpoints);
                Ok(outcome)
            }
            Applied::Refused => {
                tx.rollback().await?;
                writer.finish().await?;
                Err(self.why_not_applied(program_id, &member.id).await)
            }
            Applied::KeyTaken => {
                // Another request with this key committed first: undo ours and answer as it did.
                tx.rollback().await?;
                writer.finish().await?;
                self.replay(program_id, &member.id, change)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("idempotency key conflict without a stored entry").into()
                    })
            }
        }
    }

    pub(in crate::storage) async fn replay(
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

    pub(in crate::storage) async fn why_not_applied(
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
        let mut batch = Batch::new();
        let page = LedgerRead::add(&mut batch, member_id, before, limit);
        let results = self.read(batch).await?;
        page.read(&results)
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
