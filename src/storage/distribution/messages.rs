//! Email and SMS messages: one row per message to one member (a campaign's or a reminder's),
//! written with its outbox job in the same transaction; the sender records the outcome on it.
//! A message the member cannot receive is stored as skipped, with the reason, and counted.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::distribution::{MessageChannel, MessagePurpose};
use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::domain::job::Job;
use crate::domain::member::{Member, MemberStatus};
use crate::storage::distribution::consent::unsubscribed_among;
use crate::storage::operations::outbox::{enqueue_many, finish_in, Finish};
use crate::storage::sql::placeholders;
use crate::storage::{Store, StoreError};

/// A message to add. `dedup` is unique across all messages: adding the same one twice
/// stores and sends it once.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub program_id: ProgramId,
    pub member_id: MemberId,
    pub campaign_id: Option<CampaignId>,
    pub channel: MessageChannel,
    /// A service message (the member's own card) needs no consent; marketing does.
    pub purpose: MessagePurpose,
    pub template: String,
    /// What the template uses besides the member and the program.
    pub data: serde_json::Value,
    /// The link the message carries, for attribution.
    pub link_code: Option<String>,
    pub dedup: String,
}

/// How sending a message ended: `delivered` (with the relay's or provider's reference),
/// `skipped` or `failed` (with the reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageOutcome {
    pub id: i64,
    pub status: &'static str,
    pub reason: Option<String>,
    pub provider_ref: Option<String>,
}

/// Writes `outcome` on its message, in the caller's transaction.
async fn record_outcome(
    conn: &mut AnyConnection,
    outcome: &MessageOutcome,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE messages SET status = $2, reason = $3, provider_ref = $4, updated_at = $5 \
         WHERE id = $1",
    )
    .bind(outcome.id)
    .bind(outcome.status)
    .bind(outcome.reason.clone())
    .bind(outcome.provider_ref.clone())
    .bind(to_micros(now))
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// [`Store::finish_jobs`], recording how the batch's email and SMS messages ended in the
    /// same transaction: one write for a batch of hundreds of messages. Should it fail, the
    /// messages stay queued and their jobs are tried again (delivery is at least once).
    #[tracing::instrument(name = "store.finish_jobs_and_messages", skip_all)]
    pub async fn finish_jobs_and_messages(
        &self,
        worker: &str,
        results: &[(i64, Finish)],
        messages: &[MessageOutcome],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if results.is_empty() && messages.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for outcome in messages {
            record_outcome(&mut tx, outcome, now).await?;
        }
        finish_in(&mut tx, worker, results, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }
}

/// A stored message.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub id: i64,
    pub program_id: ProgramId,
    pub member_id: MemberId,
    pub campaign_id: Option<CampaignId>,
    pub channel: MessageChannel,
    pub purpose: MessagePurpose,
    pub template: String,
    pub data: serde_json::Value,
    pub link_code: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub provider_ref: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(FromRow)]
struct MessageRow {
    id: i64,
    program_id: String,
    member_id: String,
    campaign_id: Option<String>,
    channel: String,
    purpose: String,
    template: String,
    data: String,
    link_code: Option<String>,
    status: String,
    reason: Option<String>,
    provider_ref: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl MessageRow {
    fn into_record(self) -> Result<MessageRecord, StoreError> {
        Ok(MessageRecord {
            id: self.id,
            program_id: ProgramId::from_trusted(self.program_id),
            member_id: MemberId::from_trusted(self.member_id),
            campaign_id: self.campaign_id.map(CampaignId::from_trusted),
            channel: MessageChannel::parse(&self.channel)
                .map_err(|e| anyhow::anyhow!("stored message channel: {e}"))?,
            purpose: MessagePurpose::parse(&self.purpose)
                .map_err(|e| anyhow::anyhow!("stored message purpose: {e}"))?,
            template: self.template,
            data: serde_json::from_str(&self.data)
                .map_err(|e| anyhow::anyhow!("stored message data: {e}"))?,
            link_code: self.link_code,
            status: self.status,
            reason: self.reason,
            provider_ref: self.provider_ref,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

/// How a message for `purpose` to `member` through `channel` would end, before it is sent:
/// `None` when it can be sent, otherwise the reason it is skipped. A service message needs
/// an address, not consent.
pub fn skip_reason(
    member: &Member,
    channel: MessageChannel,
    purpose: MessagePurpose,
) -> Option<&'static str> {
    if member.status == MemberStatus::Voided {
        return Some("card_voided");
    }
    let (has_address, consent) = match channel {
        MessageChannel::Email => (member.email.is_some(), member.consent.email),
        MessageChannel::Sms => (member.phone.is_some(), member.consent.sms),
    };
    if !has_address {
        Some("no_address")
    } else if !consent && purpose == MessagePurpose::Marketing {
        Some("no_consent")
    } else {
        None
    }
}

/// Adds `msg` unless one with its `dedup` exists: queued with its outbox job, or stored as
/// skipped with `skip`'s reason (`unsubscribed` rather than `no_consent` when the member
/// withdrew consent through an unsubscribe link). Returns the new message's id, `None` when
/// it existed.
pub(in crate::storage) async fn add_message(
    conn: &mut AnyConnection,
    msg: &NewMessage,
    skip: Option<&'static str>,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    Ok(add_messages(conn, &[(msg.clone(), skip)], now)
        .await?
        .into_iter()
        .next()
        .flatten())
}

/// [`add_message`] for many messages at once (a campaign batch), in a few statements per
/// hundred messages. The ids come back in the order of `msgs`.
pub(in crate::storage) async fn add_messages(
    conn: &mut AnyConnection,
    msgs: &[(NewMessage, Option<&'static str>)],
    now: OffsetDateTime,
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut unsubscribed = HashSet::new();
    for channel in [MessageChannel::Email, MessageChannel::Sms] {
        let without_consent: Vec<&str> = msgs
            .iter()
            .filter(|(m, skip)| m.channel == channel && *skip == Some("no_consent"))
            .map(|(m, _)| m.member_id.as_str())
            .collect();
        if !without_consent.is_empty() {
            for member in unsubscribed_among(conn, channel, &without_consent).await? {
                unsubscribed.insert((member, channel));
            }
        }
    }
    let skip_of = |(m, skip): &(NewMessage, Option<&'static str>)| match skip {
        Some("no_consent")
            if unsubscribed.contains(&(m.member_id.as_str().to_string(), m.channel)) =>
        {
            Some("unsubscribed")
        }
        other => *other,
    };
    let mut ids: HashMap<String, i64> = HashMap::new();
    for chunk in msgs.chunks(50) {
        let rows = (0..chunk.len())
            .map(|i| format!("({}, $1, $1)", placeholders(2 + i * 11, 11)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO messages (program_id, member_id, campaign_id, channel, purpose, template, \
             data, link_code, dedup, status, reason, created_at, updated_at) VALUES {rows} \
             ON CONFLICT (dedup) DO NOTHING RETURNING id, dedup"
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(&sql).bind(to_micros(now));
        for entry @ (msg, _) in chunk {
            let skip = skip_of(entry);
            q = q
                .bind(msg.program_id.as_str())
                .bind(msg.member_id.as_str())
                .bind(msg.campaign_id.as_ref().map(|c| c.as_str().to_string()))
                .bind(msg.channel.as_str())
                .bind(msg.purpose.as_str())
                .bind(msg.template.as_str())
                .bind(msg.data.to_string())
                .bind(msg.link_code.clone())
                .bind(msg.dedup.as_str())
                .bind(if skip.is_some() { "skipped" } else { "queued" })
                .bind(skip);
        }
        ids.extend(
            q.fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(id, dedup)| (dedup, id)),
        );
    }
    let added: Vec<Option<i64>> = msgs
        .iter()
        .map(|(m, _)| ids.get(&m.dedup).copied())
        .collect();
    let jobs: Vec<Job> = msgs
        .iter()
        .zip(&added)
        .filter(|(entry, _)| skip_of(entry).is_none())
        .filter_map(|((m, _), id)| {
            let message_id = (*id)?;
            Some(match m.channel {
                MessageChannel::Email => Job::Email { message_id },
                MessageChannel::Sms => Job::Sms { message_id },
            })
        })
        .collect();
    enqueue_many(conn, &jobs, now, now).await?;
    Ok(added)
}

impl Store {
    /// Adds one message on its own (a campaign's send, an operator's): queued with its
    /// outbox job, or stored as skipped with the reason [`skip_reason`] gives for the member.
    /// Returns the new message's id, `None` when one with the same `dedup` exists.
    #[tracing::instrument(name = "store.queue_message", skip_all)]
    pub async fn queue_message(
        &self,
        msg: &NewMessage,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        let member = self.member(&msg.member_id).await?;
        let skip = skip_reason(&member, msg.channel, msg.purpose);
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let id = add_message(&mut tx, msg, skip, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        self.jobs_added();
        Ok(id)
    }

    /// A member's messages, newest first.
    pub async fn member_messages(
        &self,
        member: &MemberId,
        limit: u32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        sqlx::query_as::<_, MessageRow>(
            "SELECT id, program_id, member_id, campaign_id, channel, purpose, template, data, link_code, \
             status, reason, provider_ref, created_at, updated_at FROM messages \
             WHERE member_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(member.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(MessageRow::into_record)
        .collect()
    }

    pub async fn message(&self, id: i64) -> Result<MessageRecord, StoreError> {
        sqlx::query_as::<_, MessageRow>(
            "SELECT id, program_id, member_id, campaign_id, channel, purpose, template, data, link_code, \
             status, reason, provider_ref, created_at, updated_at FROM messages WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?
        .into_record()
    }
}
