//! The expiry run: for every program whose points expire, take away what is due (oldest
//! first, as ledger entries) and keep each card's "points expiring" reminder current. Safe to
//! run often and from several instances at once: an expiry's idempotency key names the
//! ledger state it was reckoned from, and a reminder is recorded once per member and date.

use time::{Duration, OffsetDateTime};

use crate::domain::expiry::{reckon, Expiring, ExpiryPolicy};
use crate::domain::ids::MemberId;
use crate::domain::ledger::{EntryKind, IdempotencyKey, PointsChange};
use crate::domain::points::Points;
use crate::domain::program::Program;
use crate::storage::{Conflict, Store, StoreError};

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpiryRun {
    pub members_expired: u64,
    pub points_expired: i64,
    pub reminders: u64,
}

pub async fn run(store: &Store, now: OffsetDateTime) -> Result<ExpiryRun, StoreError> {
    let mut total = ExpiryRun::default();
    for program in store.programs_with_expiry().await? {
        let Some(policy) = program.expiry else {
            continue;
        };
        let horizon = now + Duration::days(i64::from(policy.reminder_days));
        for member in store
            .expiry_candidates(&program.id, &policy, horizon)
            .await?
        {
            expire_member(store, &program, &policy, &member, now, &mut total).await?;
        }
    }
    if total != ExpiryRun::default() {
        tracing::info!(
            members = total.members_expired,
            points = total.points_expired,
            reminders = total.reminders,
            "points expiry ran"
        );
    }
    Ok(total)
}

async fn expire_member(
    store: &Store,
    program: &Program,
    policy: &ExpiryPolicy,
    member_id: &MemberId,
    now: OffsetDateTime,
    total: &mut ExpiryRun,
) -> Result<(), StoreError> {
    let movements = store.movements(member_id).await?;
    let mut member = store.member(member_id).await?;
    let r = reckon(policy, &movements, now);
    if r.due > 0 {
        let key = IdempotencyKey::parse(&format!("expire:{member_id}:{}", r.debits))
            .map_err(|e| anyhow::anyhow!("expiry key: {e}"))?;
        let change = PointsChange {
            kind: EntryKind::Expire,
            amount: Points::new(-r.due).map_err(|e| anyhow::anyhow!("expiry amount: {e}"))?,
            reason: format!(
                "Points earned more than {} months ago expired",
                policy.months
            ),
            actor: "system:expiry".into(),
            fingerprint: format!("expire:{}", r.due),
            idempotency_key: Some(key),
            allow_negative: false,
        };
        match store
            .apply_points(&program.id, &member, &program.tiers, &change, now)
            .await
        {
            Ok(outcome) => {
                if !outcome.replayed {
                    total.members_expired += 1;
                    total.points_expired += r.due;
                }
                member = outcome.member;
            }
            // Spent or voided meanwhile, or another instance reckoned another state: the
            // next run reckons again.
            Err(StoreError::Conflict(
                Conflict::InsufficientPoints { .. }
                | Conflict::MemberVoided
                | Conflict::IdempotencyKeyReused,
            )) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let wanted = r.soon.map(|(points, at)| Expiring { points, at });
    if member.expiring != wanted && store.set_expiring(&member, wanted, now).await? {
        total.reminders += 1;
    }
    Ok(())
}
