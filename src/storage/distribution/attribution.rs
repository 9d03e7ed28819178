//! Attribution: what each campaign produced, from message to redemption. A member belongs to
//! the campaign and channel that brought them (`members.source_campaign_id`: set when they
//! enroll through a campaign's link, or first install the card after following one); their
//! installs and redemptions count for it.

use serde::Serialize;

use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::storage::{Store, StoreError};

/// A campaign's funnel. `sent` counts messages handed to the outbox (skipped ones are not
/// sent); `delivered` those the SMTP relay or SMS provider accepted; `clicked` visitors of its
/// links: each visit of an enrollment link (anonymous), plus each member who opened their
/// personal link (once, however often; not again when they just enrolled through the
/// campaign, whose visit already counted); `enrolled`
/// members who joined through its links; `installed` and `redeemed` members it brought who
/// installed the card, and who redeemed a reward.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Funnel {
    pub sent: i64,
    pub delivered: i64,
    pub skipped: i64,
    pub clicked: i64,
    pub enrolled: i64,
    pub installed: i64,
    pub redeemed: i64,
}

/// The same counts for one channel of a campaign's links.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelFunnel {
    pub channel: String,
    pub clicked: i64,
    pub enrolled: i64,
    pub installed: i64,
    pub redeemed: i64,
}

impl Store {
    pub async fn campaign_funnel(&self, id: &CampaignId) -> Result<Funnel, StoreError> {
        let c = id.as_str();
        let (sent, delivered, skipped): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN status <> 'skipped' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END), 0) \
             FROM messages WHERE campaign_id = $1",
        )
        .bind(c)
        .fetch_one(&self.pool)
        .await?;
        let by_channel = self.channel_funnels(id).await?;
        Ok(Funnel {
            sent,
            delivered,
            skipped,
            clicked: by_channel.iter().map(|f| f.clicked).sum(),
            enrolled: by_channel.iter().map(|f| f.enrolled).sum(),
            installed: by_channel.iter().map(|f| f.installed).sum(),
            redeemed: by_channel.iter().map(|f| f.redeemed).sum(),
        })
    }

    /// Clicks, enrollments, installs and redemptions per channel of the campaign's links.
    pub async fn channel_funnels(&self, id: &CampaignId) -> Result<Vec<ChannelFunnel>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "WITH ch AS ( \
                 SELECT DISTINCT COALESCE(channel, 'web') AS channel FROM link_events WHERE campaign_id = $1 \
                 UNION SELECT COALESCE(source_channel, 'web') FROM members WHERE source_campaign_id = $1) \
             SELECT ch.channel, \
               (SELECT COUNT(*) FROM link_events e WHERE e.campaign_id = $1 AND e.action = 'clicked' \
                  AND e.member_id IS NULL AND COALESCE(e.channel, 'web') = ch.channel) + \
               (SELECT COUNT(DISTINCT e.member_id) FROM link_events e WHERE e.campaign_id = $1 \
                  AND e.action = 'clicked' AND e.member_id IS NOT NULL AND COALESCE(e.channel, 'web') = ch.channel \
                  AND NOT EXISTS (SELECT 1 FROM link_events x WHERE x.member_id = e.member_id \
                      AND x.campaign_id = $1 AND x.action = 'enrolled')), \
               (SELECT COUNT(*) FROM link_events e WHERE e.campaign_id = $1 AND e.action = 'enrolled' \
                  AND COALESCE(e.channel, 'web') = ch.channel), \
               (SELECT COUNT(*) FROM members m WHERE m.source_campaign_id = $1 \
                  AND COALESCE(m.source_channel, 'web') = ch.channel \
                  AND EXISTS (SELECT 1 FROM card_events ce WHERE ce.member_id = m.id AND ce.event = 'installed')), \
               (SELECT COUNT(*) FROM members m WHERE m.source_campaign_id = $1 \
                  AND COALESCE(m.source_channel, 'web') = ch.channel \
                  AND EXISTS (SELECT 1 FROM scans s WHERE s.member_id = m.id AND s.action = 'redeem' \
                      AND s.result = 'accepted')) \
             FROM ch ORDER BY ch.channel",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(channel, clicked, enrolled, installed, redeemed)| ChannelFunnel {
                    channel,
                    clicked,
                    enrolled,
                    installed,
                    redeemed,
                },
            )
            .collect())
    }

    /// Member ids of `program` by external id, or by email address when `by_email`.
    pub async fn member_ids_by(
        &self,
        program: &ProgramId,
        by_email: bool,
    ) -> Result<std::collections::HashMap<String, MemberId>, StoreError> {
        let column = if by_email { "email" } else { "external_id" };
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT {column}, id FROM members WHERE program_id = $1 AND {column} IS NOT NULL \
             AND status = 'active'"
        ))
        .bind(program.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(k, id)| (k, MemberId::from_trusted(id)))
            .collect())
    }
}
