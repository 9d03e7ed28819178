//! The worker loop: claim a batch, hand each job to the handler of its family, record every
//! outcome in one write, repeat; sleep when nothing is due. Housekeeping runs beside it
//! (`housekeeping`).

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::watch;
use tracing::Instrument as _;

use super::apns::{Apns, ApnsHandler};
use super::campaigns::CampaignHandler;
use super::console::ConsoleHandler;
use super::counters::OutboxCounters;
use super::fan_out::FanOutHandler;
use super::google::{Google, GoogleHandler};
use super::housekeeping::Housekeeping;
use super::jobs::{Handled, Jobs, OutboxConfig};
use super::messages::MessageHandler;
use super::sample::{SampleHandler, SampleJob};
use super::webhook::WebhookHandler;
use crate::clock::{SharedClock, SharedRandom};
use crate::delivery::webhook::WebhookClient;
use crate::domain::distribution::MessageChannel;
use crate::domain::ids::random_base32;
use crate::domain::job::Job;
use crate::messaging::Messaging;
use crate::storage::{ClaimedJob, Finish, Store, StoreError};

pub struct Outbox {
    jobs: Arc<Jobs>,
    apns: ApnsHandler,
    google: GoogleHandler,
    webhooks: WebhookHandler,
    messages: MessageHandler,
    campaigns: CampaignHandler,
    console: ConsoleHandler,
    samples: SampleHandler,
    fan_out: FanOutHandler,
    pub counters: Arc<OutboxCounters>,
    /// Names this instance's leases, so a job is only finished by the worker holding it.
    instance: String,
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
        let counters = Arc::new(OutboxCounters::default());
        let jobs = Arc::new(Jobs {
            store,
            clock,
            random,
            config,
            counters: counters.clone(),
        });
        Outbox {
            apns: ApnsHandler::new(jobs.clone(), apns),
            google: GoogleHandler {
                jobs: jobs.clone(),
                google: Google::Off,
            },
            webhooks: WebhookHandler {
                jobs: jobs.clone(),
                client: None,
            },
            messages: MessageHandler {
                jobs: jobs.clone(),
                messaging: None,
            },
            campaigns: CampaignHandler { jobs: jobs.clone() },
            console: ConsoleHandler {
                jobs: jobs.clone(),
                accounts: None,
            },
            samples: SampleHandler { jobs: jobs.clone() },
            fan_out: FanOutHandler { jobs: jobs.clone() },
            jobs,
            counters,
            instance,
        }
    }

    pub fn apns(&self) -> &Apns {
        &self.apns.apns
    }

    /// Delivers Google Wallet updates through `google`.
    pub fn with_google(mut self, google: Google) -> Outbox {
        self.google.google = google;
        self
    }

    /// Delivers webhook events through `client`.
    pub fn with_webhooks(mut self, client: WebhookClient) -> Outbox {
        self.webhooks.client = Some(client);
        self
    }

    /// Sends email and SMS messages through `messaging`.
    pub fn with_messaging(mut self, messaging: Arc<Messaging>) -> Outbox {
        self.messages.messaging = Some(messaging);
        self
    }

    /// Mails console users their invitation and password-reset links (through the messaging
    /// set with [`Outbox::with_messaging`]).
    pub fn with_accounts(mut self, accounts: Arc<crate::accounts::Accounts>) -> Outbox {
        self.console.accounts = Some(accounts);
        self
    }

    /// How this instance sends email and SMS, when it does.
    pub fn messaging(&self) -> Option<&Arc<Messaging>> {
        self.messages.messaging.as_ref()
    }

    /// Starts the configured number of worker loops and the housekeeping loop; they stop
    /// when `stop` turns true.
    pub fn spawn(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.jobs.config.workers == 0 {
            return tasks;
        }
        for n in 0..self.jobs.config.workers {
            let me = self.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move { me.work(n, stop).await }));
        }
        let housekeeping = Housekeeping {
            jobs: self.jobs.clone(),
        };
        tasks.push(tokio::spawn(async move { housekeeping.run(stop).await }));
        tasks
    }

    fn worker_name(&self, n: usize) -> String {
        format!("{}-{n}", self.instance)
    }

    async fn work(&self, n: usize, mut stop: watch::Receiver<bool>) {
        let name = self.worker_name(n);
        let signal = self.jobs.store.job_signal();
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
                _ = tokio::time::sleep(self.jobs.config.poll) => {}
            }
        }
    }

    /// Claims one batch for `worker`, handles it and records the outcomes. Returns how many
    /// jobs it handled; 0 when nothing was due.
    pub async fn run_once(&self, worker: &str) -> Result<usize, StoreError> {
        let now = self.jobs.clock.now();
        let jobs = self
            .jobs
            .store
            .claim_jobs(
                worker,
                now,
                now + self.jobs.config.lease,
                self.jobs.config.batch,
            )
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
            self.fan_out.cards(worker, &cards),
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
        self.jobs
            .store
            .finish_jobs_and_messages(worker, &finishes, &messages, self.jobs.clock.now())
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

    /// One job, in a span of its own that follows it across every `.await`.
    async fn handle(
        &self,
        worker: &str,
        claimed: &ClaimedJob,
        single: &HashSet<String>,
    ) -> Handled {
        let span = tracing::info_span!("job", id = claimed.id, attempt = claimed.attempts);
        self.dispatch(worker, claimed, single)
            .instrument(span)
            .await
    }

    /// Hands the job to the handler of its family.
    async fn dispatch(
        &self,
        worker: &str,
        claimed: &ClaimedJob,
        single: &HashSet<String>,
    ) -> Handled {
        let job = match &claimed.job {
            Ok(job) => job,
            Err(e) => {
                return Handled::Finish(Finish::Failed {
                    error: format!("unreadable job: {e}"),
                })
            }
        };
        let result = match job {
            Job::PassChanged { .. } => Ok(self.fan_out.cards(worker, &[claimed]).await.remove(0)),
            Job::ProgramChanged { program_id, after } => {
                self.fan_out
                    .program(claimed.id, worker, program_id, *after)
                    .await
            }
            Job::ApplePush {
                pass_type_id,
                push_token,
            } => Ok(Handled::Finish(
                self.apns
                    .apple_push(claimed, pass_type_id, push_token)
                    .await,
            )),
            Job::ApplePushes {
                program_id,
                after,
                upto,
            } => {
                self.apns
                    .apple_pushes(claimed, worker, program_id, (*after, *upto), single)
                    .await
            }
            Job::GoogleObject { .. } | Job::GoogleClass { .. } => {
                Ok(Handled::Finish(self.google.handle(claimed, job).await))
            }
            Job::Webhook {
                event_id,
                endpoint_id,
            } => Ok(Handled::Finish(
                self.webhooks.handle(claimed, event_id, endpoint_id).await,
            )),
            Job::CampaignBatch {
                campaign_id,
                run,
                after,
            } => {
                self.campaigns
                    .handle(claimed, worker, campaign_id, *run, after)
                    .await
            }
            Job::Email { message_id } => Ok(self
                .messages
                .handle(claimed, *message_id, MessageChannel::Email)
                .await),
            Job::Sms { message_id } => Ok(self
                .messages
                .handle(claimed, *message_id, MessageChannel::Sms)
                .await),
            Job::ConsoleEmail { link_id } => Ok(Handled::Finish(
                self.console
                    .handle(claimed, link_id, self.messages.messaging.as_ref())
                    .await,
            )),
            Job::SampleCard {
                program_id,
                channel,
                to,
                expires,
                nonce,
                sent_by,
            } => {
                let sample = SampleJob {
                    program_id,
                    channel,
                    to,
                    expires: *expires,
                    nonce,
                    sent_by,
                };
                Ok(Handled::Finish(
                    self.samples
                        .handle(claimed, &sample, self.messages.messaging.as_ref())
                        .await,
                ))
            }
        };
        result.unwrap_or_else(|e| {
            Handled::Finish(self.jobs.retry_or_fail(claimed, &format!("{e:#}"), None))
        })
    }
}
