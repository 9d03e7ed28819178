//! What points expiry reads and writes: the members who may have points to lose, their
//! ledger movements, and the reminder shown on the card (recorded once per member and
//! expiry date, with the email and SMS that go with it).

use time::{Duration, OffsetDateTime};

use crate::clock::{from_micros, to_micros};
use crate::domain::distribution::MessageChannel;
use crate::domain::expiry::{Expiring, ExpiryPolicy, Movement};
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::Member;
use crate::storage::distribution::messages::{add_message, skip_reason, NewMessage};
use crate::storage::{Store, StoreError};

impl Store {
    /// Active members of `program` who may have points expiring by `horizon`, or who show a
    /// reminder that may need clearing. A superset: the reckoning decides.
    pub async fn expiry_candidates(
        &self,
        program: &ProgramId,
        policy: &ExpiryPolicy,
        horizon: OffsetDateTime,
    ) -> Result<Vec<MemberId>, StoreError> {
        // A credit expires no sooner than `months` × 28 days after it was made.
        let cutoff = horizon - Duration::days(28 * i64::from(policy.months));
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT l.member_id FROM ledger_entries l JOIN members m ON m.id = l.member_id \
             WHERE l.program_id = $1 AND m.status = 'active' GROUP BY l.member_id \
             HAVING SUM(CASE WHEN l.amount > 0 AND l.created_at <= $2 THEN l.amount ELSE 0 END) \
             > SUM(CASE WHEN l.amount < 0 THEN -l.amount ELSE 0 END) OR MAX(m.expiring_points) > 0 \
             ORDER BY l.member_id",
        )
        .bind(program.as_str())
        .bind(to_micros(cutoff))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(MemberId::from_trusted).collect())
    }

    /// A member's ledger in order, as the reckoning needs it.
    pub async fn movements(&self, member: &MemberId) -> Result<Vec<Movement>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT amount, created_at FROM ledger_entries WHERE member_id = $1 ORDER BY id",
        )
        .bind(member.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(amount, at)| Movement {
                amount,
                at: from_micros(at),
            })
            .collect())
    }

    /// Shows `expiring` on the member's card (or clears it). A reminder not sent before for
    /// this member and date also enqueues an email and an SMS where the member agreed to
    /// them. Returns whether a new reminder was recorded.
    #[tracing::instrument(name = "store.set_expiring", skip_all)]
    pub async fn set_expiring(
        &self,
        member: &Member,
        expiring: Option<Expiring>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let changed = sqlx::query(
            "UPDATE members SET expiring_points = $2, expiring_at = $3, version = version + 1, \
             updated_at = $4 WHERE id = $1 AND status = 'active'",
        )
        .bind(member.id.as_str())
        .bind(expiring.map_or(0, |e| e.points))
        .bind(expiring.map(|e| to_micros(e.at)))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(false);
        }
        self.member_card_changed(&mut tx, &member.id, &member.serial, now)
            .await?;
        let mut reminded = false;
        if let Some(e) = expiring {
            reminded = sqlx::query(
                "INSERT INTO expiry_reminders (member_id, expires_at, points, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(member.id.as_str())
            .bind(to_micros(e.at))
            .bind(e.points)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if reminded {
                for (msg, skip) in reminder_messages(member, e) {
                    add_message(&mut tx, &msg, skip, now).await?;
                }
            }
        }
        tx.commit().await?;
        writer.finish().await?;
        self.jobs_added();
        Ok(reminded)
    }
}

/// The email and SMS a reminder sends; channels the member cannot receive are stored as
/// skipped, with the reason.
fn reminder_messages(member: &Member, e: Expiring) -> Vec<(NewMessage, Option<&'static str>)> {
    let date = e.at.date().to_string();
    let data = serde_json::json!({"points": e.points, "expires_at": crate::clock::rfc3339(e.at)});
    [MessageChannel::Email, MessageChannel::Sms]
        .into_iter()
        .map(|channel| {
            let msg = NewMessage {
                program_id: member.program_id.clone(),
                member_id: member.id.clone(),
                campaign_id: None,
                channel,
                purpose: crate::domain::distribution::MessagePurpose::Marketing,
                template: "points_expiring".into(),
                data: data.clone(),
                link_code: None,
                dedup: format!("points_expiring:{}:{}:{date}", channel.as_str(), member.id),
            };
            (
                msg,
                skip_reason(
                    member,
                    channel,
                    crate::domain::distribution::MessagePurpose::Marketing,
                ),
            )
        })
        .collect()
}
