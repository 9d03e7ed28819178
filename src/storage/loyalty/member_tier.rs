//! A member's tier set by hand (the console's "Change tier"), and handed back to the points.

use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::events;
use crate::domain::ids::MemberId;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Tiers;
use crate::storage::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use crate::storage::{flag, Conflict, Store, StoreError};

/// What a member's tier becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierChoice {
    /// This tier (a name of the program's tiers, or none), held: points no longer move it.
    Held(Option<String>),
    /// The tier the member's lifetime points reach, moving with them from now on.
    ByPoints,
}

impl Store {
    /// Sets the tier of `id` as `choice` says, with `tiers` (the program's), and answers the
    /// member as they are now and the tier they had. A changed tier bumps the card, which the
    /// phones and Google receive through the outbox, and sends `member.tier_changed` to the
    /// webhooks that take it. A cancelled card's tier does not change (409).
    #[tracing::instrument(name = "store.set_member_tier", skip_all)]
    pub async fn set_member_tier(
        &self,
        id: &MemberId,
        choice: &TierChoice,
        tiers: &Tiers,
        now: OffsetDateTime,
    ) -> Result<(Member, Option<String>), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let row: MemberRow = sqlx::query_as(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut member = Member::try_from(row)?;
        if member.status == MemberStatus::Voided {
            return Err(StoreError::Conflict(Conflict::MemberVoided));
        }
        let previous = member.tier.clone();
        let (tier, held) = match choice {
            TierChoice::Held(tier) => (tier.clone(), true),
            TierChoice::ByPoints => (
                tiers
                    .tier_for(member.lifetime_points)
                    .map(|t| t.name.clone()),
                false,
            ),
        };
        if tier == member.tier && held == member.tier_held {
            tx.commit().await?;
            writer.finish().await?;
            return Ok((member, previous));
        }
        let changed = tier != member.tier;
        sqlx::query(
            "UPDATE members SET tier = $2, tier_held = $3, version = version + $4, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(tier.clone())
        .bind(flag(held))
        .bind(i64::from(changed))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        member.tier_held = held;
        if changed {
            member.tier = tier;
            member.version += 1;
            member.updated_at = now;
            let event = events::tier_changed(&member, previous.as_deref());
            self.emit_event(&mut tx, &member.program_id, event.kind, event.data, now)
                .await?;
            self.member_card_changed(&mut tx, id, &member.serial, now)
                .await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        if changed {
            self.jobs_added();
        }
        Ok((self.member(id).await?, previous))
    }
}
