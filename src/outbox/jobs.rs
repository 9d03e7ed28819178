//! What every job handler shares: the store, the clock, the outbox's settings and counters,
//! and the two rules of a delivery that takes time or fails: keep the lease while working,
//! and retry with backoff until the attempts are used up.

use std::sync::Arc;
use std::time::Duration;

use super::backoff::Backoff;
use super::counters::{MessageResult, OutboxCounters};
use crate::clock::{SharedClock, SharedRandom};
use crate::delivery::outcome::SendOutcome;
use crate::domain::distribution::MessageChannel;
use crate::storage::{ClaimedJob, Finish, MessageOutcome, Store};

#[derive(Debug, Clone)]
pub struct OutboxConfig {
    pub workers: usize,
    pub batch: u32,
    pub poll: Duration,
    pub lease: Duration,
    pub backoff: Backoff,
    pub max_attempts: u32,
    pub fan_out_batch: u32,
    /// Members per campaign batch (one transaction each).
    pub campaign_batch: u32,
    pub retention: Duration,
    /// How often housekeeping runs points expiry; `None`: never.
    pub expiry_every: Option<Duration>,
}

/// What handling one job came to.
pub(super) enum Handled {
    /// The handler recorded the outcome itself, in the transaction that did the work.
    Recorded,
    Finish(Finish),
    /// An email or SMS job: the message's outcome is written with the job's, and counted
    /// once written.
    Message {
        finish: Finish,
        outcome: MessageOutcome,
        counted: (MessageChannel, MessageResult),
    },
}

/// Shared by the worker loop, the handlers and housekeeping.
pub(super) struct Jobs {
    pub store: Store,
    pub clock: SharedClock,
    pub random: SharedRandom,
    pub config: OutboxConfig,
    pub counters: Arc<OutboxCounters>,
}

impl Jobs {
    /// Runs `work` while renewing `job`'s lease every third of its length, so a long delivery
    /// is not taken over by another worker. `None` when the lease was lost meanwhile: `work`
    /// is then dropped, and the job's new holder does it.
    pub async fn holding_lease<T>(
        &self,
        job: i64,
        worker: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        let every = self.config.lease / 3;
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return Some(done),
                _ = tokio::time::sleep(every) => {
                    let until = self.clock.now() + self.config.lease;
                    match self.store.renew_lease(job, worker, until).await {
                        Ok(true) => {}
                        Ok(false) => return None,
                        // The lease still has two thirds to run: try again at the next tick
                        // rather than drop the work done so far.
                        Err(e) => tracing::warn!(job, error = ?e, "could not renew a job's lease"),
                    }
                }
            }
        }
    }

    /// How a job that sent one email or SMS of its own (not a stored message) ends: done
    /// with the relay's or provider's reference, retried, or failed.
    pub fn finished_send(&self, job: &ClaimedJob, sent: SendOutcome) -> Finish {
        match sent {
            SendOutcome::Delivered { reference } => Finish::Done {
                note: Some(reference),
            },
            SendOutcome::Retry { reason } => self.retry_or_fail(job, &reason, None),
            SendOutcome::Failed { reason } => Finish::Failed { error: reason },
        }
    }

    /// Retry later with backoff, or record the failure once the attempts are used up.
    pub fn retry_or_fail(
        &self,
        job: &ClaimedJob,
        error: &str,
        at_least: Option<Duration>,
    ) -> Finish {
        self.retry_or_fail_after(job.attempts, error, at_least)
    }

    /// [`Jobs::retry_or_fail`] for a delivery on its `attempts`-th attempt.
    pub fn retry_or_fail_after(
        &self,
        attempts: u32,
        error: &str,
        at_least: Option<Duration>,
    ) -> Finish {
        if attempts >= self.config.max_attempts {
            tracing::warn!(error, attempts, "job failed for good");
            return Finish::Failed {
                error: format!("gave up after {attempts} attempts: {error}"),
            };
        }
        let delay = self
            .config
            .backoff
            .delay(attempts, &*self.random)
            .max(at_least.unwrap_or_default());
        tracing::info!(
            error,
            retry_in_ms = delay.as_millis() as u64,
            "job will be retried"
        );
        Finish::Retry {
            at: self.clock.now() + delay,
            error: error.to_string(),
        }
    }
}
