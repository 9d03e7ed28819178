//! Running campaigns through the outbox: each `campaign_batch` job adds one batch of
//! messages and queues the next; housekeeping starts automation runs when they are due.

use std::sync::Arc;

use super::jobs::{Handled, Jobs};
use crate::domain::ids::CampaignId;
use crate::storage::{ClaimedJob, StoreError};

/// `campaign_batch` jobs.
pub(super) struct CampaignHandler {
    pub jobs: Arc<Jobs>,
}

impl CampaignHandler {
    pub async fn handle(
        &self,
        job: &ClaimedJob,
        worker: &str,
        campaign: &str,
        run: i64,
        after: &str,
    ) -> Result<Handled, StoreError> {
        let Ok(id) = CampaignId::parse(campaign) else {
            return Ok(Handled::Finish(crate::storage::Finish::Failed {
                error: "campaign job with an invalid campaign id".into(),
            }));
        };
        let batch = self
            .jobs
            .store
            .campaign_batch(
                (job.id, worker),
                &id,
                run,
                after,
                self.jobs.config.campaign_batch,
                self.jobs.clock.now(),
            )
            .await?;
        tracing::debug!(campaign = %id, added = batch.added, finished = batch.finished, "campaign batch");
        Ok(Handled::Recorded)
    }
}
