//! The one long-lived HTTP/2 connection all pushes share (apple-webservice.md B.6): opened on
//! first use, replaced after GOAWAY or loss, and not re-dialled in a hot loop while APNs is
//! unreachable or keeps closing new connections without answering.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::stats::{bump, Counters};
use super::tls::{Dialer, H2Connection};

/// A handle on the current connection, cheap to clone for each push.
#[derive(Clone)]
pub(super) struct Live {
    id: u64,
    pub sender: SendRequest<Bytes>,
    health: Arc<Health>,
}

#[derive(Default)]
struct Health {
    /// Some request got an answer: the connection and our credentials work.
    answered: AtomicBool,
    /// The connection task ended (GOAWAY finished, peer closed, I/O error).
    closed: AtomicBool,
}

/// Why no connection is available right now.
pub(super) struct Unavailable {
    pub reason: String,
    pub retry_in: Duration,
}

struct State {
    live: Option<Live>,
    backoff: Backoff,
    next_id: u64,
}

pub(super) struct Link {
    dialer: Dialer,
    counters: Arc<Counters>,
    /// An async lock: pushes arriving while a connection is being opened wait for it instead
    /// of opening their own.
    state: Mutex<State>,
}

impl Link {
    pub fn new(dialer: Dialer, counters: Arc<Counters>) -> Link {
        Link {
            dialer,
            counters,
            state: Mutex::new(State {
                live: None,
                backoff: Backoff::default(),
                next_id: 1,
            }),
        }
    }

    /// The current connection, opening one if there is none and the back-off allows it.
    pub async fn get(&self) -> Result<Live, Unavailable> {
        let mut state = self.state.lock().await;
        if let Some(live) = &state.live {
            if !live.health.closed.load(Ordering::Acquire) {
                return Ok(live.clone());
            }
            self.retire(&mut state);
        }
        if let Some(left) = state.backoff.remaining(Instant::now()) {
            return Err(Unavailable {
                reason: "APNs connection is backing off after failures".into(),
                retry_in: left,
            });
        }
        match self.dialer.dial().await {
            Ok((sender, connection)) => {
                let id = state.next_id;
                state.next_id += 1;
                let health = Arc::new(Health::default());
                tokio::spawn(drive(id, connection, Arc::clone(&health)));
                bump(&self.counters.connections);
                tracing::info!(connection = id, "APNs connection opened");
                let live = Live { id, sender, health };
                state.live = Some(live.clone());
                Ok(live)
            }
            Err(error) => {
                bump(&self.counters.connect_failures);
                let retry_in = state.backoff.fail(Instant::now());
                tracing::warn!(
                    error = format!("{error:#}"),
                    ?retry_in,
                    "cannot connect to APNs"
                );
                Err(Unavailable {
                    reason: format!("cannot connect to APNs: {error:#}"),
                    retry_in,
                })
            }
        }
    }

    /// A request on `live` got an answer.
    pub fn answered(&self, live: &Live) {
        live.health.answered.store(true, Ordering::Release);
    }

    /// A request on `live` failed in a way that condemns the connection; the next push opens a
    /// new one. Requests still running on it finish or fail on their own.
    pub async fn discard(&self, live: &Live) {
        let mut state = self.state.lock().await;
        if state.live.as_ref().is_some_and(|l| l.id == live.id) {
            self.retire(&mut state);
        }
    }

    fn retire(&self, state: &mut State) {
        let Some(live) = state.live.take() else {
            return;
        };
        let id = live.id;
        if live.health.answered.load(Ordering::Acquire) {
            tracing::info!(connection = id, "APNs connection retired; reconnecting");
            state.backoff.reset();
        } else {
            // Connected but never answered: e.g. the server refused our TLS 1.3 client
            // certificate after the handshake. Treat it like a failed connection attempt.
            bump(&self.counters.connect_failures);
            let retry_in = state.backoff.fail(Instant::now());
            tracing::warn!(
                connection = id,
                ?retry_in,
                "APNs connection lost before any answer"
            );
        }
    }
}

/// Runs the connection's I/O until it ends; HTTP/2 needs this task to make progress.
async fn drive(id: u64, connection: H2Connection, health: Arc<Health>) {
    match connection.await {
        Ok(()) => tracing::debug!(connection = id, "APNs connection closed"),
        Err(error) => tracing::info!(connection = id, %error, "APNs connection ended"),
    }
    health.closed.store(true, Ordering::Release);
}
