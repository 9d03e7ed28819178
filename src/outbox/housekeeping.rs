//! The housekeeping each instance runs beside its workers: taking back jobs whose lease
//! expired, deleting old finished jobs, webhook events, device logs and Google notification
//! records, starting automation runs when they are due, and points expiry.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::jobs::Jobs;

pub(super) struct Housekeeping {
    pub jobs: Arc<Jobs>,
}

impl Housekeeping {
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let every =
            (self.jobs.config.lease / 4).clamp(Duration::from_millis(50), Duration::from_secs(15));
        let mut last_purge = None;
        let mut last_expiry = None;
        while !*stop.borrow() {
            let now = self.jobs.clock.now();
            match self
                .jobs
                .store
                .reclaim_expired(now, self.jobs.config.max_attempts)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::warn!(jobs = n, "took back jobs whose worker stopped"),
                Err(e) => tracing::error!(error = ?e, "reclaiming expired jobs failed"),
            }
            let due = last_purge
                .is_none_or(|t: time::OffsetDateTime| now - t > time::Duration::minutes(10));
            if due {
                last_purge = Some(now);
                let before = now - self.jobs.config.retention;
                if let Err(e) = self.jobs.store.purge_done_jobs(before).await {
                    tracing::error!(error = ?e, "deleting finished jobs failed");
                }
                if let Err(e) = self.jobs.store.purge_webhook_events(before).await {
                    tracing::error!(error = ?e, "deleting old webhook events failed");
                }
                if let Err(e) = self.jobs.store.purge_device_logs(before).await {
                    tracing::error!(error = ?e, "deleting old device logs failed");
                }
                // The sign-in throttle's window is at most a day (`console.*`).
                let day_ago = now - time::Duration::hours(24);
                if let Err(e) = self.jobs.store.purge_console(day_ago, now).await {
                    tracing::error!(error = ?e, "deleting old console sign-in records failed");
                }
                // Only the last day counts against Google's notification limit.
                let day_ago = now - time::Duration::hours(48);
                if let Err(e) = self.jobs.store.purge_google_notifications(day_ago).await {
                    tracing::error!(error = ?e, "deleting old Google notification records failed");
                }
            }
            match self.jobs.store.run_due_automations(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(campaigns = n, "automation runs started"),
                Err(e) => tracing::error!(error = ?e, "starting automation runs failed"),
            }
            if let Some(interval) = self.jobs.config.expiry_every {
                let due = last_expiry.is_none_or(|t: time::OffsetDateTime| {
                    now - t >= time::Duration::try_from(interval).unwrap_or(time::Duration::HOUR)
                });
                if due {
                    last_expiry = Some(now);
                    if let Err(e) = crate::redemption::expiry::run(&self.jobs.store, now).await {
                        tracing::error!(error = ?e, "points expiry failed");
                    }
                }
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
