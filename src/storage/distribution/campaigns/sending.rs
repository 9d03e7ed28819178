//! Sending campaigns: starting one (or switching an automation on), pausing an automation,
//! queueing the automations that are due, and each batch of a run, one transaction with
//! the next batch's job.

use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::campaign::{Automation, Campaign, CampaignStatus};
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::job::Job;
use crate::storage::distribution::messages::{add_messages, skip_reason, NewMessage};
use crate::storage::operations::outbox::enqueue;
use crate::storage::wallets::fan_out::finish_held;
use crate::storage::{Store, StoreError};

/// One batch of a campaign run: how many messages it added, and whether the run is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub added: u64,
    pub finished: bool,
}

impl Store {
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
                        purpose: crate::domain::distribution::MessagePurpose::Marketing,
                        template: template.clone(),
                        data: c.data.clone(),
                        link_code: Some(code.as_str().to_string()),
                        dedup: format!("campaign:{}:{}:{run}", c.id, m.id),
                    };
                    (
                        msg,
                        skip_reason(
                            m,
                            channel,
                            crate::domain::distribution::MessagePurpose::Marketing,
                        ),
                    )
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
}

fn first_batch(id: &CampaignId, now: OffsetDateTime) -> Job {
    Job::CampaignBatch {
        campaign_id: id.as_str().to_string(),
        run: to_micros(now),
        after: String::new(),
    }
}
