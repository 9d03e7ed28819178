//! Who a campaign reaches: its audience resolved in SQL, page by page in member id order,
//! leaving out members it messaged within its window; and a list audience's members.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::campaign::{Audience, Campaign};
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::member::Member;
use crate::storage::distribution::messages::skip_reason;
use crate::storage::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use crate::storage::{Store, StoreError};

/// Members of `$1` (program) matching the audience; `$2` campaign id, `$3` tier, `$4` cutoff,
/// `$5`: members with a message of this campaign since then are left out (a one-off send
/// passes the earliest time: everyone already messaged).
fn audience_sql(audience: &Audience) -> &'static str {
    match audience {
        Audience::All => "TRUE",
        Audience::Tier { .. } => "m.tier = $3",
        Audience::Inactive { .. } => {
            "m.created_at < $4 AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.member_id = m.id \
             AND s.result = 'accepted' AND s.created_at >= $4)"
        }
        Audience::NewMembers { .. } => "m.created_at >= $4",
        Audience::List => {
            "EXISTS (SELECT 1 FROM campaign_members cm WHERE cm.campaign_id = $2 AND cm.member_id = m.id)"
        }
    }
}

impl Store {
    /// Replaces a list audience's members.
    #[tracing::instrument(name = "store.set_campaign_members", skip_all)]
    pub async fn set_campaign_members(
        &self,
        campaign: &CampaignId,
        members: &[MemberId],
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query("DELETE FROM campaign_members WHERE campaign_id = $1")
            .bind(campaign.as_str())
            .execute(&mut *tx)
            .await?;
        add_campaign_members(&mut tx, campaign, members).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    /// Audience members after `after` (member id order), at most `limit`, leaving out those
    /// the campaign messaged since `since`.
    pub(super) async fn audience_page(
        &self,
        conn: &mut AnyConnection,
        c: &Campaign,
        since: OffsetDateTime,
        now: OffsetDateTime,
        after: &str,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError> {
        let columns = MEMBER_COLUMNS
            .split(',')
            .map(|c| format!("m.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<MemberRow> = sqlx::query_as(&format!(
            "SELECT {columns} FROM members m WHERE m.program_id = $1 AND m.status = 'active' \
             AND ({audience}) AND NOT EXISTS (SELECT 1 FROM messages g WHERE g.campaign_id = $2 \
             AND g.member_id = m.id AND g.created_at >= $5) AND m.id > $6 ORDER BY m.id LIMIT $7",
            audience = audience_sql(&c.audience),
        ))
        .bind(c.program_id.as_str())
        .bind(c.id.as_str())
        .bind(tier_of(&c.audience))
        .bind(c.audience.cutoff(now).map_or(0, to_micros))
        .bind(to_micros(since))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter().map(Member::try_from).collect()
    }

    /// How many members the campaign would reach if it ran now, and how many of them it
    /// would skip (no address, no consent).
    pub async fn audience_size(
        &self,
        c: &Campaign,
        now: OffsetDateTime,
    ) -> Result<(i64, i64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let (mut size, mut skipped, mut after) = (0, 0, String::new());
        loop {
            let page = self
                .audience_page(&mut conn, c, self.window_start(c, now), now, &after, 2000)
                .await?;
            size += page.len() as i64;
            if let Some(channel) = c.channel.messaging() {
                skipped += page
                    .iter()
                    .filter(|m| {
                        skip_reason(
                            m,
                            channel,
                            crate::domain::distribution::MessagePurpose::Marketing,
                        )
                        .is_some()
                    })
                    .count() as i64;
            }
            match page.last() {
                Some(last) if page.len() == 2000 => after = last.id.as_str().to_string(),
                _ => return Ok((size, skipped)),
            }
        }
    }

    /// Members messaged since this time are left out of a run.
    pub(super) fn window_start(&self, c: &Campaign, now: OffsetDateTime) -> OffsetDateTime {
        match c.automation {
            Some(a) => now - a.window(),
            None => OffsetDateTime::UNIX_EPOCH,
        }
    }
}

pub(in crate::storage) async fn add_campaign_members(
    conn: &mut AnyConnection,
    campaign: &CampaignId,
    members: &[MemberId],
) -> Result<(), StoreError> {
    for m in members {
        sqlx::query(
            "INSERT INTO campaign_members (campaign_id, member_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(campaign.as_str())
        .bind(m.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn tier_of(a: &Audience) -> Option<String> {
    match a {
        Audience::Tier { tier } => Some(tier.clone()),
        _ => None,
    }
}
