//! Running campaigns through the outbox: each `campaign_batch` job adds one batch of
//! messages and queues the next; housekeeping starts automation runs when they are due.

use super::worker::{Handled, Outbox};
use crate::domain::ids::CampaignId;
use crate::storage::{ClaimedJob, StoreError};

impl Outbox {
    pub(super) async fn campaign_batch(
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
            .store
            .campaign_batch(
                (job.id, worker),
                &id,
                run,
                after,
                self.config.campaign_batch,
                self.clock.now(),
            )
            .await?;
        tracing::debug!(campaign = %id, added = batch.added, finished = batch.finished, "campaign batch");
        Ok(Handled::Recorded)
    }
}
