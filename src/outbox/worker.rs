//! The worker loop: claim a batch, handle its jobs concurrently, record every outcome in
//! one write, repeat; sleep when nothing is due. Plus the housekeeping each instance runs:
//! taking back jobs whose lease expired and deleting old finished jobs, webhook events and
//! device logs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::watch;

use super::backoff::Backoff;
use super::counters::{MessageResult, OutboxCounters};
use super::deliver::Apns;
use super::google::Google;
use crate::clock::{SharedClock, SharedRandom};
use crate::delivery::webhook::WebhookClient;
use crate::domain::distribution::MessageChannel;
use crate::domain::ids::random_base32;
use crate::domain::job::Job;
use crate::messaging::Messaging;
use crate::storage::{ClaimedJob, FanOut, Finish, MessageOutcome, Ranges, Store, StoreError};

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

pub struct Outbox {
    pub(super) store: Store,
    pub(super) clock: SharedClock,
    pub(super) random: SharedRandom,
    pub(super) apns: Apns,
    pub(super) google: Google,
    /// Posts webhook events; `None` only in an outbox built without it.
    pub(super) webhooks: Option<WebhookClient>,
    /// Sends email and SMS; `None` only in an outbox built without it.
    pub(super) messaging: Option<Arc<Messaging>>,
    pub(super) config: OutboxConfig,
    pub counters: Arc<OutboxCounters>,
    /// Push ranges this instance pushes at once; the others wait, keeping their leases.
    pub(super) ranges: tokio::sync::Semaphore,
    /// Of those, the ones reading their devices at once.
    pub(super) range_reads: tokio::sync::Semaphore,
    /// Names this instance's leases, so a job is only finished by the worker holding it.
    instance: String,
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

impl Outbox {
    pub fn new(
        store: Store,
        clock: SharedClock,
        random: SharedRandom,
        apns: Apns,
        config: OutboxConfig,
    ) -> Outbox {
        let instance = random_base32(&*random, 5);
        Outbox {
            store,
            clock,
            random,
            apns,
            google: Google::Off,
            webhooks: None,
            messaging: None,
            config,
            counters: Arc::default(),
            ranges: tokio::sync::Semaphore::new(super::deliver::RANGES_AT_ONCE),
            range_reads: tokio::sync::Semaphore::new(super::deliver::RANGE_READS_AT_ONCE),
            instance,
        }
    }

    pub fn apns(&self) -> &Apns {
        &self.apns
    }

    /// Delivers Google Wallet updates through `google`.
    pub fn with_google(mut self, google: Google) -> Outbox {
        self.google = google;
        self
    }

    /// Delivers webhook events through `client`.
    pub fn with_webhooks(mut self, client: WebhookClient) -> Outbox {
        self.webhooks = Some(client);
        self
    }

    /// Sends email and SMS messages through `messaging`.
    pub fn with_messaging(mut self, messaging: Arc<Messaging>) -> Outbox {
        self.messaging = Some(messaging);
        self
    }

    /// How this instance sends email and SMS, when it does.
    pub fn messaging(&self) -> Option<&Arc<Messaging>> {
        self.messaging.as_ref()
    }

    /// Starts the configured number of worker loops and the housekeeping loop; they stop
    /// when `stop` turns true.
    pub fn spawn(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.config.workers == 0 {
            return tasks;
        }
        for n in 0..self.config.workers {
            let me = self.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move { me.work(n, stop).await }));
        }
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.housekeeping(stop).await }));
        tasks
    }

    fn worker_name(&self, n: usize) -> String {
        format!("{}-{n}", self.instance)
    }

    async fn work(&self, n: usize, mut stop: watch::Receiver<bool>) {
        let name = self.worker_name(n);
        let signal = self.store.job_signal();
        while !*stop.borrow() {
            let handled = match self.run_once(&name).await {
                Ok(handled) => handled,
                Err(e) => {
                    tracing::error!(worker = %name, error = ?e, "outbox worker could not claim or record jobs");
                    0
                }
            };
            if handled > 0 {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = signal.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Claims one batch for `worker`, handles it and records the outcomes. Returns how many
    /// jobs it handled; 0 when nothing was due.
    pub async fn run_once(&self, worker: &str) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let jobs = self
            .store
            .claim_jobs(worker, now, now + self.config.lease, self.config.batch)
            .await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        // Devices this batch pushes on their own; push ranges in the batch leave them out.
        let single: HashSet<String> = jobs
            .iter()
            .filter_map(|j| match &j.job {
                Ok(job @ Job::ApplePush { .. }) => Some(job.dedup_key()),
                _ => None,
            })
            .collect();
        // Changed cards are fanned out together, a hundred per write; the other jobs one by one.
        let (cards, others): (Vec<&ClaimedJob>, Vec<&ClaimedJob>) = jobs
            .iter()
            .partition(|j| matches!(j.job, Ok(Job::PassChanged { .. })));
        let (cards_handled, others_handled) = futures_util::future::join(
            self.fan_out_cards(worker, &cards),
            join_all(others.iter().map(|job| self.handle(worker, job, &single))),
        )
        .await;
        let (mut finishes, mut messages, mut counted) = (Vec::new(), Vec::new(), Vec::new());
        let handled = cards
            .into_iter()
            .zip(cards_handled)
            .chain(others.into_iter().zip(others_handled));
        for (job, handled) in handled {
            match handled {
                Handled::Recorded => {}
                Handled::Finish(f) => finishes.push((job.id, f)),
                Handled::Message {
                    finish,
                    outcome,
                    counted: c,
                } => {
                    finishes.push((job.id, finish));
                    messages.push(outcome);
                    counted.push(c);
                }
            }
        }
        for (_, f) in &finishes {
            let counter = match f {
                Finish::Done { .. } => &self.counters.jobs_done,
                Finish::Retry { .. } => &self.counters.jobs_retried,
                Finish::Failed { .. } => &self.counters.jobs_failed,
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.store
            .finish_jobs_and_messages(worker, &finishes, &messages, self.clock.now())
            .await?;
        for (channel, result) in counted {
            self.counters.message(channel, result);
        }
        Ok(jobs.len())
    }

    /// Runs batches until nothing is due: tests and the CLI use it to deliver deterministically.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let name = self.worker_name(99);
        let mut total = 0;
        loop {
            match self.run_once(&name).await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    async fn handle(
        &self,
        worker: &str,
        claimed: &ClaimedJob,
        single: &HashSet<String>,
    ) -> Handled {
        let span = tracing::info_span!("job", id = claimed.id, attempt = claimed.attempts);
        let _enter = span.enter();
        let job = match &claimed.job {
            Ok(job) => job,
            Err(e) => {
                return Handled::Finish(Finish::Failed {
                    error: format!("unreadable job: {e}"),
                })
            }
        };
        let result = match job {
            Job::PassChanged { .. } => Ok(self.fan_out_cards(worker, &[claimed]).await.remove(0)),
            Job::ProgramChanged { program_id, after } => {
                self.fan_out_program(claimed.id, worker, program_id, *after)
                    .await
            }
            Job::ApplePush {
                pass_type_id,
                push_token,
            } => Ok(Handled::Finish(
                self.apple_push(claimed, pass_type_id, push_token).await,
            )),
            Job::ApplePushes {
                program_id,
                after,
                upto,
            } => {
                self.apple_pushes(claimed, worker, program_id, (*after, *upto), single)
                    .await
            }
            Job::GoogleObject { .. } | Job::GoogleClass { .. } => {
                Ok(Handled::Finish(self.google_job(claimed, job).await))
            }
            Job::Webhook {
                event_id,
                endpoint_id,
            } => Ok(Handled::Finish(
                self.webhook(claimed, event_id, endpoint_id).await,
            )),
            Job::CampaignBatch {
                campaign_id,
                run,
                after,
            } => {
                self.campaign_batch(claimed, worker, campaign_id, *run, after)
                    .await
            }
            Job::Email { message_id } => Ok(self
                .message(claimed, *message_id, MessageChannel::Email)
                .await),
            Job::Sms { message_id } => Ok(self
                .message(claimed, *message_id, MessageChannel::Sms)
                .await),
        };
        result.unwrap_or_else(|e| {
            Handled::Finish(self.retry_or_fail(claimed, &format!("{e:#}"), None))
        })
    }

    /// `pass_changed` jobs, a hundred per write: what each came to, in their order. Should a
    /// write fail, every job is retried; those an earlier write finished stay done (a retry
    /// only touches a job its worker still holds).
    async fn fan_out_cards(&self, worker: &str, jobs: &[&ClaimedJob]) -> Vec<Handled> {
        let cards: Vec<(i64, &str)> = jobs
            .iter()
            .filter_map(|j| match &j.job {
                Ok(Job::PassChanged { serial }) => Some((j.id, serial.as_str())),
                _ => None,
            })
            .collect();
        match self
            .store
            .fan_out_cards(worker, &cards, self.clock.now())
            .await
        {
            Ok(deliveries) => {
                tracing::debug!(cards = cards.len(), deliveries, "card changes fanned out");
                jobs.iter().map(|_| Handled::Recorded).collect()
            }
            Err(e) => jobs
                .iter()
                .map(|j| Handled::Finish(self.retry_or_fail(j, &format!("{e:#}"), None)))
                .collect(),
        }
    }

    async fn fan_out_program(
        &self,
        id: i64,
        worker: &str,
        program: &str,
        mut after: i64,
    ) -> Result<Handled, StoreError> {
        self.counters
            .fan_outs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        loop {
            let now = self.clock.now();
            let step = self
                .store
                .fan_out_program(
                    (id, worker),
                    program,
                    after,
                    Ranges::of(self.config.fan_out_batch),
                    now,
                    now + self.config.lease,
                )
                .await?;
            match step {
                FanOut::Continue { after: next } if next > after => after = next,
                _ => return Ok(Handled::Recorded),
            }
            self.store.job_signal().notify_waiters();
        }
    }

    /// Runs `work` while renewing `job`'s lease every third of its length, so a long delivery
    /// is not taken over by another worker. `None` when the lease was lost meanwhile: `work`
    /// is then dropped, and the job's new holder does it.
    pub(super) async fn holding_lease<T>(
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

    /// Retry later with backoff, or record the failure once the attempts are used up.
    pub(super) fn retry_or_fail(
        &self,
        job: &ClaimedJob,
        error: &str,
        at_least: Option<Duration>,
    ) -> Finish {
        self.retry_or_fail_after(job.attempts, error, at_least)
    }

    /// [`Outbox::retry_or_fail`] for a delivery on its `attempts`-th attempt.
    pub(super) fn retry_or_fail_after(
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

    async fn housekeeping(&self, mut stop: watch::Receiver<bool>) {
        let every =
            (self.config.lease / 4).clamp(Duration::from_millis(50), Duration::from_secs(15));
        let mut last_purge = None;
        let mut last_expiry = None;
        while !*stop.borrow() {
            let now = self.clock.now();
            match self
                .store
                .reclaim_expired(now, self.config.max_attempts)
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
                let before = now - self.config.retention;
                if let Err(e) = self.store.purge_done_jobs(before).await {
                    tracing::error!(error = ?e, "deleting finished jobs failed");
                }
                if let Err(e) = self.store.purge_webhook_events(before).await {
                    tracing::error!(error = ?e, "deleting old webhook events failed");
                }
                if let Err(e) = self.store.purge_device_logs(before).await {
                    tracing::error!(error = ?e, "deleting old device logs failed");
                }
                // Only the last day counts against Google's notification limit.
                let day_ago = now - time::Duration::hours(48);
                if let Err(e) = self.store.purge_google_notifications(day_ago).await {
                    tracing::error!(error = ?e, "deleting old Google notification records failed");
                }
            }
            match self.store.run_due_automations(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(campaigns = n, "automation runs started"),
                Err(e) => tracing::error!(error = ?e, "starting automation runs failed"),
            }
            if let Some(interval) = self.config.expiry_every {
                let due = last_expiry.is_none_or(|t: time::OffsetDateTime| {
                    now - t >= time::Duration::try_from(interval).unwrap_or(time::Duration::HOUR)
                });
                if due {
                    last_expiry = Some(now);
                    if let Err(e) = crate::redemption::expiry::run(&self.store, now).await {
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
