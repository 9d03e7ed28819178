//! Scans and locations. Every scan is one append-only row; an action that changes points
//! writes its ledger entry, the member, the card change and the scan in one transaction, so
//! a scan record and its effect never disagree.

mod locations;
mod read;

use sqlx::{AnyConnection, FromRow, Row};
use time::OffsetDateTime;

use super::batch::{Batch, Step};
use super::loyalty::ledger::{Applied, PointsWrite};
use super::operations::webhooks::{Endpoints, EndpointsRead};
use super::{flag, Conflict, Store, StoreError};
use crate::clock::{from_micros, to_micros};
use crate::domain::api_key::ApiKey;
use crate::domain::events::{self, ScanFacts};
use crate::domain::ids::{ApiKeyId, LocationId, MemberId, ProgramId, RewardId};
use crate::domain::ledger::{LedgerEntry, PointsChange};
use crate::domain::member::Member;
use crate::domain::program::Tiers;
use crate::domain::scan::{RejectReason, Scan, ScanAction};
use crate::storage::{Conflict as StoreConflict, PointsOutcome};

pub use read::CounterView;

/// A scan to record.
#[derive(Debug, Clone)]
pub struct NewScan<'a> {
    pub program_id: Option<&'a ProgramId>,
    /// The card's member, when the code named one we could trust.
    pub member: Option<&'a Member>,
    pub staff: &'a ApiKey,
    pub location_id: Option<&'a LocationId>,
    pub action: ScanAction,
    pub rejected: Option<RejectReason>,
    pub amount_minor: Option<i64>,
    /// The reward redeemed, and whether it is single-use.
    pub reward: Option<(&'a RewardId, bool)>,
    pub idempotency_key: Option<&'a str>,
    /// A digest of the request, so a reused key with a different request is refused.
    pub fingerprint: Option<&'a str>,
}

impl NewScan<'_> {
    pub fn member_id(&self) -> Option<&MemberId> {
        self.member.map(|m| &m.id)
    }
}

/// How an action after a scan went.
#[derive(Debug)]
// A return value, moved once: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ScanOutcome {
    Applied {
        scan: Scan,
        points: Option<PointsOutcome>,
    },
    /// The idempotency key had been used for this same request: nothing new was applied.
    Replayed {
        scan: Scan,
        entry: Option<LedgerEntry>,
    },
    /// The card was good but the action is not possible; the caller records why.
    Refused(RejectReason),
}

#[derive(FromRow)]
struct ScanRow {
    id: i64,
    program_id: Option<String>,
    member_id: Option<String>,
    staff_key_id: String,
    staff_name: String,
    location_id: Option<String>,
    action: String,
    result: String,
    reason: Option<String>,
    amount_minor: Option<i64>,
    points: i64,
    reward_id: Option<String>,
    ledger_entry_id: Option<i64>,
    fingerprint: Option<String>,
    created_at: i64,
}

const SCAN_COLUMNS: &str = "id, program_id, member_id, staff_key_id, staff_name, location_id, \
     action, result, reason, amount_minor, points, reward_id, ledger_entry_id, fingerprint, created_at";

impl TryFrom<ScanRow> for Scan {
    type Error = StoreError;

    fn try_from(r: ScanRow) -> Result<Self, StoreError> {
        Ok(Scan {
            action: ScanAction::parse(&r.action)
                .map_err(|_| anyhow::anyhow!("scan {} has an invalid action", r.id))?,
            rejected: match r.result.as_str() {
                "accepted" => None,
                _ => Some(r.reason.unwrap_or_else(|| "unknown".into())),
            },
            id: r.id,
            program_id: r.program_id.map(ProgramId::from_trusted),
            member_id: r.member_id.map(MemberId::from_trusted),
            staff_key_id: ApiKeyId::from_trusted(r.staff_key_id),
            staff_name: r.staff_name,
            location_id: r.location_id.map(LocationId::from_trusted),
            amount_minor: r.amount_minor,
            points: r.points,
            reward_id: r.reward_id.map(RewardId::from_trusted),
            ledger_entry_id: r.ledger_entry_id,
            created_at: from_micros(r.created_at),
        })
    }
}

impl Store {
    /// Records a scan that changes nothing: a lookup, or a refusal.
    #[tracing::instrument(name = "store.record_scan", skip_all)]
    pub async fn record_scan(
        &self,
        scan: &NewScan<'_>,
        now: OffsetDateTime,
    ) -> Result<Scan, StoreError> {
        let mut batch = Batch::new();
        let inserted = insert_scan_in(&mut batch, scan, 0, false, now);
        let endpoints = scan.program_id.map(|p| EndpointsRead::add(&mut batch, p));
        let mut writer = self.writer().await?;
        let (mut tx, results) = writer.begin_with(batch).await?;
        let id: i64 = results
            .first(inserted)
            .ok_or_else(|| anyhow::anyhow!("a scan without a key or reward was refused"))?
            .try_get(0)?;
        let endpoints = match endpoints {
            Some(read) => read.read(&results)?,
            None => Endpoints::default(),
        };
        self.emit_scan_events(&mut tx, scan, id, 0, None, &endpoints, now)
            .await?;
        tx.commit().await?;
        writer.finish().await?;
        self.change_jobs_added(false, &endpoints);
        Ok(recorded(scan, id, 0, None, now))
    }

    /// An accepted action after a scan: the points change (if any) and the scan record in one
    /// transaction, sent to the database as one batch. A repeat of the same request under its
    /// idempotency key answers with the first outcome; a single-use reward already redeemed
    /// is refused, even by a concurrent request (the unique index decides).
    #[tracing::instrument(name = "store.apply_scan", skip_all)]
    pub async fn apply_scan(
        &self,
        scan: &NewScan<'_>,
        change: Option<(&PointsChange, &Tiers)>,
        now: OffsetDateTime,
    ) -> Result<ScanOutcome, StoreError> {
        // No look for an earlier request first: a repeated key meets a unique index below,
        // and only then is the first outcome read back.
        let (program_id, member) = match (scan.program_id, scan.member) {
            (Some(p), Some(m)) => (p, m),
            _ => return Err(anyhow::anyhow!("an action needs a program and a member").into()),
        };
        let amount = change.map_or(0, |(c, _)| c.amount.value());
        let mut batch = Batch::new();
        let points_write =
            change.map(|(c, _)| PointsWrite::add(self, &mut batch, program_id, member, c, now));
        let inserted = insert_scan_in(&mut batch, scan, amount, change.is_some(), now);
        let endpoints = EndpointsRead::add(&mut batch, program_id);
        let mut writer = self.writer().await?;
        let (mut tx, results) = writer.begin_with(batch).await?;
        let endpoints = endpoints.read(&results)?;
        let points = match (change, points_write) {
            (Some((_, tiers)), Some(write)) => match write
                .outcome(self, &mut tx, &results, tiers, &endpoints)
                .await?
            {
                Applied::Done(outcome) => Some(outcome),
                Applied::Refused => {
                    tx.rollback().await?;
                    writer.finish().await?;
                    // A retry of a request that went through may no longer fit the balance.
                    if let Some(replay) = self.replay_scan(scan).await? {
                        return Ok(replay);
                    }
                    return match self.why_not_applied(program_id, &member.id).await {
                        StoreError::Conflict(StoreConflict::InsufficientPoints { .. }) => {
                            Ok(ScanOutcome::Refused(RejectReason::InsufficientPoints))
                        }
                        StoreError::Conflict(StoreConflict::MemberVoided) => {
                            Ok(ScanOutcome::Refused(RejectReason::Voided))
                        }
                        other => Err(other),
                    };
                }
                Applied::KeyTaken => {
                    tx.rollback().await?;
                    writer.finish().await?;
                    return self.after_conflict(scan).await;
                }
            },
            _ => None,
        };
        let entry = points.as_ref().map(|p| p.entry.id);
        let Some(id) = results.first(inserted).map(|r| r.try_get(0)).transpose()? else {
            tx.rollback().await?;
            writer.finish().await?;
            return self.after_conflict(scan).await;
        };
        self.emit_scan_events(&mut tx, scan, id, amount, points.as_ref(), &endpoints, now)
            .await?;
        tx.commit().await?;
        writer.finish().await?;
        self.change_jobs_added(amount != 0, &endpoints);
        Ok(ScanOutcome::Applied {
            scan: recorded(scan, id, amount, entry, now),
            points,
        })
    }

    /// `scan.accepted` or `scan.rejected`, and `reward.redeemed` for an accepted redemption,
    /// to those of `endpoints` that take them.
    #[allow(clippy::too_many_arguments)]
    async fn emit_scan_events(
        &self,
        tx: &mut AnyConnection,
        scan: &NewScan<'_>,
        id: i64,
        points: i64,
        outcome: Option<&PointsOutcome>,
        endpoints: &Endpoints,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let Some(program) = scan.program_id else {
            return Ok(());
        };
        let facts = ScanFacts {
            id,
            action: scan.action,
            rejected: scan.rejected,
            member: scan.member,
            location_id: scan.location_id,
            staff: scan.staff,
            amount_minor: scan.amount_minor,
            points,
            reward_id: scan.reward.map(|(r, _)| r),
            at: now,
        };
        let outcome = outcome.map(|o| (&o.member, &o.entry));
        for event in events::scan_events(&facts, outcome) {
            let subscribed = endpoints.taking(event.kind);
            if !subscribed.is_empty() {
                self.emit_to(tx, program, &subscribed, event.kind, event.data, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// After a unique index refused the write: a concurrent twin of this request won (replay
    /// it), or the single-use reward was redeemed by another request.
    async fn after_conflict(&self, scan: &NewScan<'_>) -> Result<ScanOutcome, StoreError> {
        if let Some(replay) = self.replay_scan(scan).await? {
            return Ok(replay);
        }
        match scan.reward {
            Some((_, true)) => Ok(ScanOutcome::Refused(RejectReason::RewardAlreadyRedeemed)),
            // The key was taken by a request that is not a scan (a direct earn or adjust).
            _ => Err(StoreError::Conflict(Conflict::IdempotencyKeyReused)),
        }
    }

    async fn replay_scan(&self, scan: &NewScan<'_>) -> Result<Option<ScanOutcome>, StoreError> {
        let (Some(program), Some(key)) = (scan.program_id, scan.idempotency_key) else {
            return Ok(None);
        };
        let row: Option<ScanRow> = sqlx::query_as(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE program_id = $1 AND idempotency_key = $2 \
             AND result = 'accepted'"
        ))
        .bind(program.as_str())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row.fingerprint.as_deref() != scan.fingerprint
            || row.member_id.as_deref() != scan.member_id().map(MemberId::as_str)
        {
            return Err(StoreError::Conflict(Conflict::IdempotencyKeyReused));
        }
        let scan = Scan::try_from(row)?;
        let entry = match scan.ledger_entry_id {
            Some(id) => Some(self.ledger_entry(id).await?),
            None => None,
        };
        Ok(Some(ScanOutcome::Replayed { scan, entry }))
    }
}

/// The scan as just written, without reading it back.
fn recorded(
    scan: &NewScan<'_>,
    id: i64,
    points: i64,
    ledger_entry_id: Option<i64>,
    now: OffsetDateTime,
) -> Scan {
    Scan {
        id,
        program_id: scan.program_id.cloned(),
        member_id: scan.member_id().cloned(),
        staff_key_id: scan.staff.id.clone(),
        staff_name: scan.staff.name.clone(),
        location_id: scan.location_id.cloned(),
        action: scan.action,
        rejected: scan.rejected.map(|r| r.as_str().to_string()),
        amount_minor: scan.amount_minor,
        points,
        reward_id: scan.reward.map(|(r, _)| r.clone()),
        ledger_entry_id,
        created_at: from_micros(to_micros(now)),
    }
}

/// Adds the scan's INSERT to `batch`; it returns the new id, or nothing when a unique index
/// refused it (a used idempotency key, or a single-use reward already redeemed). With
/// `with_entry`, the scan points at the ledger entry written under its idempotency key
/// earlier in the batch.
fn insert_scan_in(
    batch: &mut Batch,
    scan: &NewScan<'_>,
    points: i64,
    with_entry: bool,
    now: OffsetDateTime,
) -> Step {
    let entry = if with_entry {
        "(SELECT id FROM ledger_entries WHERE program_id = $1 AND idempotency_key = $13)"
    } else {
        "NULL"
    };
    batch.push(
        format!(
            "INSERT INTO scans (program_id, member_id, staff_key_id, staff_name, location_id, action, result, \
             reason, amount_minor, points, reward_id, single_use, ledger_entry_id, idempotency_key, fingerprint, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, {entry}, $13, $14, $15) \
             ON CONFLICT DO NOTHING RETURNING id"
        ),
        vec![
            scan.program_id.map(|p| p.as_str()).into(),
            scan.member_id().map(|m| m.as_str()).into(),
            scan.staff.id.as_str().into(),
            scan.staff.name.clone().into(),
            scan.location_id.map(|l| l.as_str()).into(),
            scan.action.as_str().into(),
            if scan.rejected.is_some() {
                "rejected"
            } else {
                "accepted"
            }
            .into(),
            scan.rejected.map(|r| r.as_str()).into(),
            scan.amount_minor.into(),
            points.into(),
            scan.reward.map(|(r, _)| r.as_str()).into(),
            flag(scan.reward.is_some_and(|(_, single)| single)).into(),
            scan.idempotency_key.into(),
            scan.fingerprint.into(),
            to_micros(now).into(),
        ],
    )
}
