//! Campaigns: stored, their audiences resolved in SQL, and their messages added in batches
//! (each batch one transaction with the next batch's job), so a 100,000-member send neither
//! holds one long transaction nor loses or repeats a member when a worker dies.

use serde_json::Value;
use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use super::distribution::messages::{add_messages, skip_reason, NewMessage};
use super::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use super::operations::outbox::enqueue;
use super::wallets::fan_out::finish_held;
use super::{Store, StoreError};
use crate::clock::{from_micros, to_micros};
use crate::domain::campaign::{Audience, Automation, Campaign, CampaignStatus};
use crate::domain::distribution::Channel;
use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::domain::job::Job;
use crate::domain::member::Member;

#[derive(FromRow)]
struct CampaignRow {
    id: String,
    program_id: String,
    name: String,
    channel: String,
    template: Option<String>,
    data: String,
    audience: String,
    automation: Option<String>,
    status: String,
    next_run_at: Option<i64>,
    last_run_at: Option<i64>,
    sent_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const CAMPAIGN_COLUMNS: &str = "id, program_id, name, channel, template, data, audience, \
     automation, status, next_run_at, last_run_at, sent_at, created_at, updated_at";

impl TryFrom<CampaignRow> for Campaign {
    type Error = StoreError;

    fn try_from(r: CampaignRow) -> Result<Self, StoreError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Unexpected(anyhow::anyhow!("campaign {}: stored {what}: {e}", r.id))
        };
        Ok(Campaign {
            channel: Channel::parse(&r.channel).map_err(|e| bad("channel", &e))?,
            data: serde_json::from_str(&r.data).map_err(|e| bad("data", &e))?,
            audience: serde_json::from_str(&r.audience).map_err(|e| bad("audience", &e))?,
            automation: r
                .automation
                .as_deref()
                .map(serde_json::from_str::<Automation>)
                .transpose()
                .map_err(|e| bad("automation", &e))?,
            status: CampaignStatus::parse(&r.status).map_err(|e| bad("status", &e))?,
            id: CampaignId::from_trusted(r.id),
            program_id: ProgramId::from_trusted(r.program_id),
            name: r.name,
            template: r.template,
            next_run_at: r.next_run_at.map(from_micros),
            last_run_at: r.last_run_at.map(from_micros),
            sent_at: r.sent_at.map(from_micros),
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        })
    }
}

/// How far a campaign's messages got, by status, and why messages were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub queued: i64,
    pub delivered: i64,
    pub failed: i64,
    pub skipped: i64,
    pub skipped_by_reason: Vec<(String, i64)>,
}

/// One batch of a campaign run: how many messages it added, and whether the run is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub added: u64,
    pub finished: bool,
}

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
    #[tracing::instrument(name = "store.insert_campaign", skip_all)]
    pub async fn insert_campaign(&self, c: &Campaign) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO campaigns ({CAMPAIGN_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(c.id.as_str())
        .bind(c.program_id.as_str())
        .bind(&c.name)
        .bind(c.channel.as_str())
        .bind(c.template.clone())
        .bind(c.data.to_string())
        .bind(json(&c.audience))
        .bind(c.automation.as_ref().map(json))
        .bind(c.status.as_str())
        .bind(c.next_run_at.map(to_micros))
        .bind(c.last_run_at.map(to_micros))
        .bind(c.sent_at.map(to_micros))
        .bind(to_micros(c.created_at))
        .bind(to_micros(c.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn campaign(&self, id: &CampaignId) -> Result<Campaign, StoreError> {
        sqlx::query_as::<_, CampaignRow>(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?
        .try_into()
    }

    /// A program's campaigns, newest first.
    pub async fn campaigns(&self, program: &ProgramId) -> Result<Vec<Campaign>, StoreError> {
        sqlx::query_as::<_, CampaignRow>(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE program_id = $1 \
             ORDER BY created_at DESC, id"
        ))
        .bind(program.as_str())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Campaign::try_from)
        .collect()
    }

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

    /// Starts sending: a one-off campaign goes from draft to sending, an automation becomes
    /// active; either way its first run is queued now. Returns the campaign as it is then;
    /// `None` when its status did not allow it.
    #[tracing::instrument(name = "store.start_campaign", skip_all)]
    pub async fn start_campaign(
        &self,
        id: &CampaignId,
        now: OffsetDateTime,
    ) -> Result<Option<Campaign>, StoreError> {
        let campaign = self.campaign(id).await?;
        let (from, to): (&[CampaignStatus], CampaignStatus) = match campaign.automation {
            None => (&[CampaignStatus::Draft], CampaignStatus::Sending),
            Some(_) => (
                &[CampaignStatus::Draft, CampaignStatus::Paused],
                CampaignStatus::Active,
            ),
        };
        if !from.contains(&campaign.status) {
            return Ok(None);
        }
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let next = campaign.automation.map(|a| to_micros(now + a.every()));
        let changed = sqlx::query(
            "UPDATE campaigns SET status = $2, last_run_at = $3, next_run_at = $4, updated_at = $3 \
             WHERE id = $1 AND status = $5",
        )
        .bind(id.as_str())
        .bind(to.as_str())
        .bind(to_micros(now))
        .bind(next)
        .bind(campaign.status.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(None);
        }
        enqueue(&mut tx, &first_batch(id, now), now, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        self.jobs_added();
        self.campaign(id).await.map(Some)
    }

    /// Pauses an active automation. `false` when it was not active.
    #[tracing::instrument(name = "store.pause_campaign", skip_all)]
    pub async fn pause_campaign(
        &self,
        id: &CampaignId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE campaigns SET status = 'paused', next_run_at = NULL, updated_at = $2 \
             WHERE id = $1 AND status = 'active'",
        )
        .bind(id.as_str())
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues the next run of every automation that is due. Each run is taken by one
    /// instance: the schedule moves forward only where it still shows the time read.
    #[tracing::instrument(name = "store.run_due_automations", skip_all)]
    pub async fn run_due_automations(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let due: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, automation, next_run_at FROM campaigns WHERE status = 'active' \
             AND next_run_at <= $1 ORDER BY next_run_at LIMIT 100",
        )
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        let mut started = 0;
        for (id, automation, next_run_at) in due {
            let Ok(automation) = serde_json::from_str::<Automation>(&automation) else {
                tracing::error!(campaign = id, "automation schedule unreadable; skipped");
                continue;
            };
            let id = CampaignId::from_trusted(id);
            let mut writer = self.writer().await?;
            let mut tx = writer.begin().await?;
            let taken = sqlx::query(
                "UPDATE campaigns SET next_run_at = $2, last_run_at = $3, updated_at = $3 \
                 WHERE id = $1 AND status = 'active' AND next_run_at = $4",
            )
            .bind(id.as_str())
            .bind(to_micros(now + automation.every()))
            .bind(to_micros(now))
            .bind(next_run_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 1 {
                enqueue(&mut tx, &first_batch(&id, now), now, now).await?;
                started += 1;
            }
            tx.commit().await?;
            writer.finish().await?;
        }
        if started > 0 {
            self.jobs_added();
        }
        Ok(started)
    }

    /// Audience members after `after` (member id order), at most `limit`, leaving out those
    /// the campaign messaged since `since`.
    async fn audience_page(
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
                    .filter(|m| skip_reason(m, channel).is_some())
                    .count() as i64;
            }
            match page.last() {
                Some(last) if page.len() == 2000 => after = last.id.as_str().to_string(),
                _ => return Ok((size, skipped)),
            }
        }
    }

    /// Members messaged since this time are left out of a run.
    fn window_start(&self, c: &Campaign, now: OffsetDateTime) -> OffsetDateTime {
        match c.automation {
            Some(a) => now - a.window(),
            None => OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// One batch of run `run`: each audience member after `after` gets a personal card link
    /// for this campaign and a message (or a skipped message with the reason); the next
    /// batch's job is queued and this one finished, all in one transaction. A one-off
    /// campaign is marked sent after its last batch.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(name = "store.campaign_batch", skip_all)]
    pub async fn campaign_batch(
        &self,
        (job_id, worker): (i64, &str),
        campaign: &CampaignId,
        run: i64,
        after: &str,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Batch, StoreError> {
        let c = self.campaign(campaign).await?;
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let running = matches!(c.status, CampaignStatus::Sending | CampaignStatus::Active);
        let members = if running {
            let since = self.window_start(&c, from_micros(run));
            self.audience_page(&mut tx, &c, since, from_micros(run), after, limit)
                .await?
        } else {
            Vec::new()
        };
        let mut added: u64 = 0;
        if let (Some(channel), Some(template)) = (c.channel.messaging(), &c.template) {
            let ids: Vec<MemberId> = members.iter().map(|m| m.id.clone()).collect();
            let codes = self
                .card_links_in(&mut tx, &c.program_id, &c.id, c.channel, &ids, now)
                .await?;
            let msgs: Vec<(NewMessage, Option<&'static str>)> = members
                .iter()
                .zip(codes)
                .map(|(m, code)| {
                    let msg = NewMessage {
                        program_id: c.program_id.clone(),
                        member_id: m.id.clone(),
                        campaign_id: Some(c.id.clone()),
                        channel,
                        template: template.clone(),
                        data: c.data.clone(),
                        link_code: Some(code.as_str().to_string()),
                        dedup: format!("campaign:{}:{}:{run}", c.id, m.id),
                    };
                    (msg, skip_reason(m, channel))
                })
                .collect();
            added = add_messages(&mut tx, &msgs, now)
                .await?
                .iter()
                .flatten()
                .count() as u64;
        }
        let finished = members.len() < limit as usize;
        match members.last() {
            Some(last) if !finished => {
                let next = Job::CampaignBatch {
                    campaign_id: c.id.as_str().to_string(),
                    run,
                    after: last.id.as_str().to_string(),
                };
                enqueue(&mut tx, &next, now, now).await?;
            }
            _ => {
                sqlx::query(
                    "UPDATE campaigns SET status = 'sent', sent_at = $2, updated_at = $2 \
                     WHERE id = $1 AND status = 'sending'",
                )
                .bind(c.id.as_str())
                .bind(to_micros(now))
                .execute(&mut *tx)
                .await?;
            }
        }
        if !finish_held(&mut tx, job_id, worker, now).await? {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(Batch {
                added: 0,
                finished: false,
            });
        }
        tx.commit().await?;
        writer.finish().await?;
        self.jobs_added();
        Ok(Batch { added, finished })
    }

    /// The campaign's messages by status, and the reasons for skipping.
    pub async fn campaign_progress(&self, id: &CampaignId) -> Result<Progress, StoreError> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT status, reason, COUNT(*) FROM messages WHERE campaign_id = $1 \
             GROUP BY status, reason ORDER BY status, reason",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut p = Progress::default();
        for (status, reason, n) in rows {
            match status.as_str() {
                "queued" => p.queued += n,
                "delivered" => p.delivered += n,
                "failed" => p.failed += n,
                _ => {
                    p.skipped += n;
                    p.skipped_by_reason
                        .push((reason.unwrap_or_else(|| "unknown".into()), n));
                }
            }
        }
        Ok(p)
    }
}

pub(super) async fn add_campaign_members(
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

fn first_batch(id: &CampaignId, now: OffsetDateTime) -> Job {
    Job::CampaignBatch {
        campaign_id: id.as_str().to_string(),
        run: to_micros(now),
        after: String::new(),
    }
}

fn tier_of(a: &Audience) -> Option<String> {
    match a {
        Audience::Tier { tier } => Some(tier.clone()),
        _ => None,
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).unwrap_or(Value::Null).to_string()
}
