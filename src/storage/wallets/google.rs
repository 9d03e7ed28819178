//! Google Wallet bookkeeping: which members have a Google object, what was last sent to
//! Google, notifying messages sent (for Google's three-per-day limit) and the save/delete
//! callbacks received.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::card_event::{CardChange, Wallet};
use crate::domain::ids::{MemberId, ProgramId};
use crate::storage::wallets::card_events::CardOf;
use crate::storage::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct GoogleObjectRecord {
    pub member_id: String,
    pub program_id: String,
    pub object_id: String,
    pub class_id: String,
    pub pushed_version: Option<i64>,
    pub pushed_balance: Option<i64>,
    pub pushed_tier: Option<String>,
    pub pushed_expiring_at: Option<i64>,
    pub saved_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

/// What Google was last told about a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedState {
    pub version: i64,
    pub balance: i64,
    pub tier: Option<String>,
    /// The expiry reminder shown (microseconds), if any.
    pub expiring_at: Option<i64>,
}

const COLUMNS: &str =
    "member_id, program_id, object_id, class_id, pushed_version, pushed_balance, \
     pushed_tier, pushed_expiring_at, saved_at, deleted_at";

impl Store {
    /// Records that the member has a Google object (idempotent) and returns it.
    #[tracing::instrument(name = "store.issue_google_object", skip_all)]
    pub async fn issue_google_object(
        &self,
        member: &MemberId,
        program: &ProgramId,
        object_id: &str,
        class_id: &str,
        now: OffsetDateTime,
    ) -> Result<GoogleObjectRecord, StoreError> {
        sqlx::query(
            "INSERT INTO google_objects (member_id, program_id, object_id, class_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (member_id) DO NOTHING",
        )
        .bind(member.as_str())
        .bind(program.as_str())
        .bind(object_id)
        .bind(class_id)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        self.google_object(member)
            .await?
            .ok_or_else(|| anyhow::anyhow!("google object of {member} vanished").into())
    }

    pub async fn google_object(
        &self,
        member: &MemberId,
    ) -> Result<Option<GoogleObjectRecord>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM google_objects WHERE member_id = $1"
        ))
        .bind(member.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(name = "store.record_google_push", skip_all)]
    pub async fn record_google_push(
        &self,
        member: &MemberId,
        state: &PushedState,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE google_objects SET pushed_version = $2, pushed_balance = $3, pushed_tier = $4, \
             updated_at = $5, pushed_expiring_at = $6 WHERE member_id = $1",
        )
        .bind(member.as_str())
        .bind(state.version)
        .bind(state.balance)
        .bind(state.tier.clone())
        .bind(to_micros(now))
        .bind(state.expiring_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notifying messages sent for the object since `since`.
    pub async fn google_notifications_since(
        &self,
        object_id: &str,
        since: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM google_notifications WHERE object_id = $1 AND sent_at > $2",
        )
        .bind(object_id)
        .bind(to_micros(since))
        .fetch_one(&self.pool)
        .await?)
    }

    #[tracing::instrument(name = "store.add_google_notification", skip_all)]
    pub async fn add_google_notification(
        &self,
        object_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO google_notifications (object_id, sent_at) VALUES ($1, $2)")
            .bind(object_id)
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a save (`saved` true) or delete callback once per nonce, with the card event
    /// (installed or removed) for the object's member. False for a replay.
    #[tracing::instrument(name = "store.record_google_callback", skip_all)]
    pub async fn record_google_callback(
        &self,
        nonce: &str,
        object_id: &str,
        class_id: &str,
        saved: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO google_callbacks (nonce, object_id, class_id, event, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(object_id)
        .bind(class_id)
        .bind(if saved { "save" } else { "del" })
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if fresh {
            let column = if saved { "saved_at" } else { "deleted_at" };
            let member: Option<String> = sqlx::query_scalar(&format!(
                "UPDATE google_objects SET {column} = $2, updated_at = $2 WHERE object_id = $1 \
                 RETURNING member_id"
            ))
            .bind(object_id)
            .bind(to_micros(now))
            .fetch_optional(&mut *tx)
            .await?;
            // A callback for an object we never issued (another system's) is kept, not counted.
            if let Some(member) = member {
                let change = if saved {
                    CardChange::Installed
                } else {
                    CardChange::Removed
                };
                self.card_changed(
                    &mut tx,
                    CardOf::Member(&member),
                    Wallet::Google,
                    change,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        writer.finish().await?;
        if fresh {
            self.jobs_added();
        }
        Ok(fresh)
    }

    /// Forgets notifications sent before `before` (only the last 24 hours count).
    #[tracing::instrument(name = "store.purge_google_notifications", skip_all)]
    pub async fn purge_google_notifications(
        &self,
        before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM google_notifications WHERE sent_at < $1")
                .bind(to_micros(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
