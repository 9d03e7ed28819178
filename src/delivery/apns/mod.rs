//! A small APNs client for Wallet pass pushes (apple-webservice.md part B): `POST
//! /3/device/<token>` with `{}` over shared HTTP/2 connections (one by default, several
//! taken in turn when configured), authenticated by the Pass
//! Type ID certificate (mutual TLS) or a provider token, each answer mapped to a
//! [`PushOutcome`].

mod backoff;
mod config;
mod connection;
mod cooldown;
mod error;
mod exchange;
mod outcome;
mod stats;
mod tls;
mod token;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use config::{ApnsAuth, ApnsConfig, PRODUCTION_URL};
pub use error::ApnsError;
pub use outcome::PushOutcome;
pub use stats::ApnsStats;

use crate::clock::SharedClock;
use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::PushToken;
use config::Endpoint;
use connection::{Link, Live};
use cooldown::Cooldown;
use outcome::{classify, is_provider_token_problem, Answer};
use stats::{bump, Counters};
use token::TokenSigner;

/// After a 403, pushes answer `Forbidden` without sending for this long, so a revoked
/// certificate or key does not turn into a flood of refused requests.
pub const FORBIDDEN_COOLDOWN: Duration = Duration::from_secs(60);

/// Cheap to clone; clones share the connection, limits and counters.
#[derive(Clone)]
pub struct ApnsClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    /// The connections, taken in turn.
    links: Vec<Link>,
    next: AtomicUsize,
    token: Option<TokenSigner>,
    auth_kind: &'static str,
    permits: Semaphore,
    timeout: Duration,
    cooldown: Cooldown,
    counters: Arc<Counters>,
}

/// How one attempt on the wire ended.
enum Attempt {
    Answered(Answer),
    /// The connection failed before an answer; the push was not processed.
    Lost(String),
    /// No connection could be had.
    Unavailable(String, Duration),
    TimedOut,
}

impl ApnsClient {
    /// Checks the configuration; connects lazily, on the first push.
    pub fn new(config: ApnsConfig, clock: SharedClock) -> Result<ApnsClient, ApnsError> {
        if config.max_in_flight == 0 || config.connections == 0 {
            return Err(ApnsError::NoConcurrency);
        }
        let endpoint = Endpoint::parse(&config.url)?;
        let counters = Arc::new(Counters::default());
        let dialer = tls::Dialer::new(&config, endpoint.clone())?;
        let token = match &config.auth {
            ApnsAuth::Certificate { .. } => None,
            ApnsAuth::Token {
                key_pem,
                key_id,
                team_id,
            } => Some(TokenSigner::new(
                key_pem,
                key_id,
                team_id.clone(),
                Arc::clone(&clock),
            )?),
        };
        Ok(ApnsClient {
            inner: Arc::new(Inner {
                endpoint,
                links: (0..config.connections)
                    .map(|_| Link::new(dialer.clone(), Arc::clone(&counters)))
                    .collect(),
                next: AtomicUsize::new(0),
                token,
                auth_kind: config.auth.kind(),
                permits: Semaphore::new(config.max_in_flight),
                timeout: config.timeout,
                cooldown: Cooldown::new(FORBIDDEN_COOLDOWN, clock),
                counters,
            }),
        })
    }

    /// Tells the device holding `token` that passes of type `topic` changed. Never fails: every
    /// ending, transport trouble included, is a [`PushOutcome`].
    /// (No span per push: a fan-out makes tens of thousands a second; the events carry the
    /// topic instead.)
    pub async fn push(&self, topic: &PassTypeId, token: &PushToken) -> PushOutcome {
        let outcome = self.inner.deliver(topic, token).await;
        self.inner.counters.record(&outcome);
        let topic = topic.as_str();
        match &outcome {
            PushOutcome::Forbidden { reason } => tracing::error!(
                topic,
                reason,
                auth = self.inner.auth_kind,
                "APNs refuses our credentials; pushes pause for a while"
            ),
            PushOutcome::Rejected { status, reason } => {
                tracing::warn!(topic, status, reason, "APNs rejected the push request")
            }
            other => tracing::debug!(topic, outcome = other.label(), "APNs push done"),
        }
        outcome
    }

    pub fn stats(&self) -> ApnsStats {
        self.inner.counters.snapshot()
    }
}

impl fmt::Debug for ApnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApnsClient")
            .field("authority", &self.inner.endpoint.authority)
            .field("auth", &self.inner.auth_kind)
            .finish_non_exhaustive()
    }
}

impl Inner {
    async fn deliver(&self, topic: &PassTypeId, token: &PushToken) -> PushOutcome {
        if let Some(reason) = self.cooldown.active() {
            return PushOutcome::Forbidden { reason };
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return PushOutcome::retry("APNs client is shutting down", None);
        };
        // A 403 may have arrived while this push waited for its turn.
        if let Some(reason) = self.cooldown.active() {
            return PushOutcome::Forbidden { reason };
        }
        let _in_flight = self.counters.in_flight();
        let mut lost: Option<String> = None;
        let mut renewed = false;
        loop {
            let bearer = self.token.as_ref().map(TokenSigner::current);
            let outcome = match self.attempt(topic, token, bearer.as_deref()).await {
                Attempt::Answered(answer) => classify(answer),
                // Nothing was processed, so one more try on a fresh connection is safe.
                Attempt::Lost(reason) if lost.is_none() => {
                    lost = Some(reason);
                    continue;
                }
                Attempt::Lost(reason) => return PushOutcome::retry(reason, None),
                Attempt::Unavailable(reason, retry_in) => {
                    let reason = match lost {
                        Some(first) => format!("{first}; then {reason}"),
                        None => reason,
                    };
                    return PushOutcome::retry(reason, Some(retry_in));
                }
                Attempt::TimedOut => {
                    let reason = format!("no answer from APNs within {:?}", self.timeout);
                    return PushOutcome::retry(reason, None);
                }
            };
            let PushOutcome::Forbidden { reason } = &outcome else {
                return outcome;
            };
            bump(&self.counters.forbidden_responses);
            if let (Some(signer), Some(jwt)) = (&self.token, &bearer) {
                if !renewed
                    && is_provider_token_problem(reason)
                    && signer.renew_after_rejection(jwt)
                {
                    renewed = true;
                    continue;
                }
            }
            self.cooldown.start(reason);
            return outcome;
        }
    }

    async fn attempt(
        &self,
        topic: &PassTypeId,
        token: &PushToken,
        bearer: Option<&str>,
    ) -> Attempt {
        let request = match exchange::request(&self.endpoint, topic, token, bearer) {
            Ok(request) => request,
            // Cannot happen: topic and token are validated types and the JWT is base64url.
            Err(error) => return Attempt::Lost(format!("cannot build the request: {error}")),
        };
        let link = &self.links[self.next.fetch_add(1, Ordering::Relaxed) % self.links.len()];
        let live = match link.get().await {
            Ok(live) => live,
            Err(u) => return Attempt::Unavailable(u.reason, u.retry_in),
        };
        let sent = exchange::send(live.sender.clone(), request);
        match tokio::time::timeout(self.timeout, sent).await {
            Ok(Ok(answer)) => {
                link.answered(&live);
                Attempt::Answered(answer)
            }
            Ok(Err(error)) => lost(link, &live, error).await,
            Err(_) => {
                // A silent connection may be dead without a FIN; start afresh next time.
                link.discard(&live).await;
                Attempt::TimedOut
            }
        }
    }
}

async fn lost(link: &Link, live: &Live, error: h2::Error) -> Attempt {
    // A reset of this one stream leaves the connection usable; anything else
    // (GOAWAY, I/O error, closed connection) condemns it.
    if !error.is_reset() {
        link.discard(live).await;
    }
    tracing::debug!(%error, "APNs request lost");
    Attempt::Lost(format!("APNs connection failed: {error}"))
}
