//! `pass_changed` and `program_changed` jobs: a changed card or program becomes the pushes,
//! Google updates and webhook events it calls for, written as jobs of their own
//! (`storage::fan_out`).

use std::sync::Arc;

use super::jobs::{Handled, Jobs};
use crate::domain::job::Job;
use crate::storage::{ClaimedJob, FanOut, Ranges, StoreError};

pub(super) struct FanOutHandler {
    pub jobs: Arc<Jobs>,
}

impl FanOutHandler {
    /// `pass_changed` jobs, a hundred per write: what each came to, in their order. Should a
    /// write fail, every job is retried; those an earlier write finished stay done (a retry
    /// only touches a job its worker still holds).
    pub async fn cards(&self, worker: &str, jobs: &[&ClaimedJob]) -> Vec<Handled> {
        let cards: Vec<(i64, &str)> = jobs
            .iter()
            .filter_map(|j| match &j.job {
                Ok(Job::PassChanged { serial }) => Some((j.id, serial.as_str())),
                _ => None,
            })
            .collect();
        match self
            .jobs
            .store
            .fan_out_cards(worker, &cards, self.jobs.clock.now())
            .await
        {
            Ok(deliveries) => {
                tracing::debug!(cards = cards.len(), deliveries, "card changes fanned out");
                jobs.iter().map(|_| Handled::Recorded).collect()
            }
            Err(e) => jobs
                .iter()
                .map(|j| Handled::Finish(self.jobs.retry_or_fail(j, &format!("{e:#}"), None)))
                .collect(),
        }
    }

    pub async fn program(
        &self,
        id: i64,
        worker: &str,
        program: &str,
        mut after: i64,
    ) -> Result<Handled, StoreError> {
        self.jobs
            .counters
            .fan_outs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        loop {
            let now = self.jobs.clock.now();
            let step = self
                .jobs
                .store
                .fan_out_program(
                    (id, worker),
                    program,
                    after,
                    Ranges::of(self.jobs.config.fan_out_batch),
                    now,
                    now + self.jobs.config.lease,
                )
                .await?;
            match step {
                FanOut::Continue { after: next } if next > after => after = next,
                _ => return Ok(Handled::Recorded),
            }
            self.jobs.store.job_signal().notify_waiters();
        }
    }
}
