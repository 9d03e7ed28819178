//! Campaigns: stored, their audiences resolved in SQL, and their messages added in batches
//! (each batch one transaction with the next batch's job), so a 100,000-member send neither
//! holds one long transaction nor loses or repeats a member when a worker dies.

mod audience;
mod sending;

use serde_json::Value;
use sqlx::FromRow;

use crate::clock::{from_micros, to_micros};
use crate::domain::campaign::{Automation, Campaign, CampaignStatus};
use crate::domain::distribution::Channel;
use crate::domain::ids::{CampaignId, ProgramId};
use crate::storage::{Store, StoreError};

pub(in crate::storage) use audience::add_campaign_members;
pub use sending::Batch;

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

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).unwrap_or(Value::Null).to_string()
}
