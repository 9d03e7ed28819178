//! Members' consent to email and SMS: the current flags on the member, and the append-only
//! history of every change (when, which channel, granted or withdrawn, how).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::{from_micros, rfc3339, to_micros};
use crate::domain::distribution::{ConsentSource, MessageChannel};
use crate::domain::ids::{MemberId, ProgramId};
use crate::storage::sql::placeholders;
use crate::storage::{flag, Store, StoreError};

/// One entry of a member's consent history.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentEvent {
    pub channel: String,
    pub granted: bool,
    pub source: String,
    /// RFC 3339.
    pub at: String,
}

#[derive(FromRow)]
struct ConsentRow {
    channel: String,
    granted: i64,
    source: String,
    created_at: i64,
}

/// Appends one consent change to the member's history, in the caller's transaction.
pub(in crate::storage) async fn record_consent(
    conn: &mut AnyConnection,
    program: &ProgramId,
    member: &MemberId,
    channel: MessageChannel,
    granted: bool,
    source: ConsentSource,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let change = NewConsent {
        program,
        member,
        channel,
        granted,
        source,
        at: now,
    };
    record_consents(conn, &[change]).await
}

/// One consent change to append.
pub(in crate::storage) struct NewConsent<'a> {
    pub program: &'a ProgramId,
    pub member: &'a MemberId,
    pub channel: MessageChannel,
    pub granted: bool,
    pub source: ConsentSource,
    pub at: OffsetDateTime,
}

/// Appends consent changes (an import's), a hundred per statement, in the caller's
/// transaction.
pub(in crate::storage) async fn record_consents(
    conn: &mut AnyConnection,
    changes: &[NewConsent<'_>],
) -> Result<(), StoreError> {
    for chunk in changes.chunks(100) {
        let rows = (0..chunk.len())
            .map(|i| format!("({})", placeholders(1 + i * 6, 6)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO consent_events (program_id, member_id, channel, granted, source, \
             created_at) VALUES {rows}"
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(c.program.as_str())
                .bind(c.member.as_str())
                .bind(c.channel.as_str())
                .bind(flag(c.granted))
                .bind(c.source.as_str())
                .bind(to_micros(c.at));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// See [`Store::unsubscribed`]; in the caller's transaction.
pub(in crate::storage) async fn unsubscribed(
    conn: &mut AnyConnection,
    member: &MemberId,
    channel: MessageChannel,
) -> Result<bool, StoreError> {
    Ok(!unsubscribed_among(conn, channel, &[member.as_str()])
        .await?
        .is_empty())
}

/// Which of `members` last changed their `channel` consent through an unsubscribe link or
/// a mail client's one-click unsubscribe; in the caller's transaction, a few statements for
/// hundreds of members.
pub(in crate::storage) async fn unsubscribed_among(
    conn: &mut AnyConnection,
    channel: MessageChannel,
    members: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let by_unsubscribe = [
        ConsentSource::UnsubscribeLink.as_str(),
        ConsentSource::ListUnsubscribe.as_str(),
    ];
    let mut last: HashMap<String, String> = HashMap::new();
    for chunk in members.chunks(500) {
        let sql = format!(
            "SELECT member_id, source FROM consent_events WHERE channel = $1 \
             AND member_id IN ({}) ORDER BY id",
            placeholders(2, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql).bind(channel.as_str());
        for m in chunk {
            q = q.bind(*m);
        }
        // In id order: the last one per member wins.
        last.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(last
        .into_iter()
        .filter(|(_, source)| by_unsubscribe.contains(&source.as_str()))
        .map(|(member, _)| member)
        .collect())
}

impl Store {
    /// Sets the member's consent for `channel` and records the change; nothing is recorded
    /// when it already was so. Returns whether it changed.
    #[tracing::instrument(name = "store.set_consent", skip_all)]
    pub async fn set_consent(
        &self,
        member: &MemberId,
        channel: MessageChannel,
        granted: bool,
        source: ConsentSource,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let column = match channel {
            MessageChannel::Email => "consent_email",
            MessageChannel::Sms => "consent_sms",
        };
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let program: Option<String> = sqlx::query_scalar(&format!(
            "UPDATE members SET {column} = $2, updated_at = $3 WHERE id = $1 AND {column} <> $2 \
             RETURNING program_id"
        ))
        .bind(member.as_str())
        .bind(flag(granted))
        .bind(to_micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(program) = program else {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(false);
        };
        let program = ProgramId::from_trusted(program);
        record_consent(&mut tx, &program, member, channel, granted, source, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(true)
    }

    /// Whether the member's latest consent change for `channel` was an unsubscribe (the
    /// unsubscribe page or a mail client's one-click), rather than a change made elsewhere.
    pub async fn unsubscribed(
        &self,
        member: &MemberId,
        channel: MessageChannel,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        unsubscribed(&mut conn, member, channel).await
    }

    /// The member's consent history, oldest first.
    pub async fn consent_history(
        &self,
        member: &MemberId,
    ) -> Result<Vec<ConsentEvent>, StoreError> {
        let rows: Vec<ConsentRow> = sqlx::query_as(
            "SELECT channel, granted, source, created_at FROM consent_events \
             WHERE member_id = $1 ORDER BY id",
        )
        .bind(member.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ConsentEvent {
                channel: r.channel,
                granted: r.granted != 0,
                source: r.source,
                at: rfc3339(from_micros(r.created_at)),
            })
            .collect())
    }
}
