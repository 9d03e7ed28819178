//! A local APNs stand-in speaking the real protocol: TLS with ALPN `h2` (a client certificate
//! required in certificate mode), HTTP/2 served with the `h2` crate, the request checks APNs
//! makes for a pass push, scriptable answers per device token, and a record of every request.
//! Used by the integration tests (tests/api/apns.rs) and the benches.
//!
//! Answers follow Apple's table (apple-webservice.md B.5). One choice of ours: a client
//! certificate whose subject UID differs from `apns-topic` gets 400 `TopicDisallowed` ("pushing
//! to this topic is not allowed"); 403 `BadCertificate` is kept for a certificate APNs cannot use.
//!
//! Split by concern: this file holds the options, the answers, the record and what tests and
//! benches call; accepting connections and answering requests is in fake_apns/server.rs, the
//! checks APNs makes in fake_apns/checks.rs, the certificates and TLS set-up in fake_apns/tls.rs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "fake_apns/checks.rs"]
mod checks;
#[path = "fake_apns/server.rs"]
mod server;
#[path = "fake_apns/tls.rs"]
mod tls;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use openssl::x509::X509;
use passwright::clock::{SharedClock, SystemClock};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use server::accept_loop;
use tls::acceptor;
pub use tls::make_ca;
#[allow(unused_imports)] // fake_smtp.rs uses it, the benches do not
pub use tls::make_server_cert;

/// How clients prove who they are.
#[derive(Clone)]
pub enum FakeAuth {
    /// Mutual TLS: a client certificate chaining to `trust` is required.
    Certificate { trust: X509 },
    /// `authorization: bearer <ES256 JWT>` checked against this public key (PEM), kid and team.
    Token {
        public_key_pem: Vec<u8>,
        key_id: String,
        team_id: String,
    },
    /// No client authentication (load tools such as h2load cannot present certificates).
    Open,
}

#[derive(Clone)]
pub struct FakeApnsOptions {
    pub auth: FakeAuth,
    /// Held before every answer, to keep many streams in flight.
    pub delay: Duration,
    /// Advertised as SETTINGS_MAX_CONCURRENT_STREAMS.
    pub max_concurrent_streams: Option<u32>,
    /// Sends GOAWAY once a connection has received this many requests.
    pub goaway_after: Option<usize>,
    /// Cuts the TCP connection, unanswered, when its request number n + 1 arrives.
    pub drop_after: Option<usize>,
    /// For provider-token ages and the times recorded.
    pub clock: SharedClock,
}

impl FakeApnsOptions {
    pub fn new(auth: FakeAuth) -> Self {
        FakeApnsOptions {
            auth,
            delay: Duration::ZERO,
            max_concurrent_streams: None,
            goaway_after: None,
            drop_after: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A scripted answer, given instead of 200 to the next request for a token.
#[derive(Debug, Clone)]
pub enum Reply {
    Ok,
    Error { status: u16, reason: String },
    Unregistered { timestamp_ms: i64 },
}

impl Reply {
    pub fn error(status: u16, reason: &str) -> Reply {
        Reply::Error {
            status,
            reason: reason.to_owned(),
        }
    }

    pub fn unregistered(since: OffsetDateTime) -> Reply {
        let timestamp_ms = i64::try_from(since.unix_timestamp_nanos() / 1_000_000).unwrap();
        Reply::Unregistered { timestamp_ms }
    }
}

/// One request as it arrived, with the status it got (`None`: connection cut instead).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub connection: usize,
    pub method: String,
    pub path: String,
    /// The device token from `/3/device/<token>`, when the path has that shape.
    pub token: Option<String>,
    pub topic: Option<String>,
    pub push_type: Option<String>,
    pub priority: Option<String>,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
    pub at: OffsetDateTime,
    pub status: Option<u16>,
    pub reason: Option<String>,
}

impl Recorded {
    /// The provider token sent, without `bearer `.
    pub fn jwt(&self) -> Option<&str> {
        self.authorization.as_deref()?.strip_prefix("bearer ")
    }
}

pub struct FakeApns {
    addr: SocketAddr,
    ca: X509,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    options: FakeApnsOptions,
    token_key: Option<jsonwebtoken::DecodingKey>,
    recorded: Mutex<Vec<Recorded>>,
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    connections: AtomicUsize,
    handshake_failures: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    answered: AtomicUsize,
    changed: Notify,
}

impl FakeApns {
    pub async fn start(options: FakeApnsOptions) -> FakeApns {
        Self::try_start(options)
            .await
            .expect("starting the APNs stand-in")
    }

    pub async fn try_start(options: FakeApnsOptions) -> anyhow::Result<FakeApns> {
        let (ca, ca_key) = make_ca()?;
        let acceptor = acceptor(&options.auth, &ca, &ca_key)?;
        let token_key = match &options.auth {
            FakeAuth::Token { public_key_pem, .. } => Some(
                jsonwebtoken::DecodingKey::from_ec_pem(public_key_pem)
                    .context("token public key")?,
            ),
            _ => None,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            options,
            token_key,
            recorded: Mutex::default(),
            scripts: Mutex::default(),
            connections: AtomicUsize::new(0),
            handshake_failures: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            changed: Notify::new(),
        });
        let task = tokio::spawn(accept_loop(listener, acceptor, Arc::clone(&shared)));
        Ok(FakeApns {
            addr,
            ca,
            shared,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The root the stand-in's server certificate chains to (its own, made at start).
    pub fn ca(&self) -> X509 {
        self.ca.clone()
    }

    /// Answers for the next requests for `token`, before falling back to 200.
    pub fn script(&self, token: &str, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.scripts)
            .entry(token.to_owned())
            .or_default()
            .extend(replies);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.recorded).clone()
    }

    /// How many requests arrived so far, without copying them.
    #[allow(dead_code)] // the benches use it, the tests do not
    pub fn received(&self) -> usize {
        lock(&self.shared.recorded).len()
    }

    pub fn count_for(&self, token: &str) -> usize {
        lock(&self.shared.recorded)
            .iter()
            .filter(|r| r.token.as_deref() == Some(token))
            .count()
    }

    /// TLS connections established (handshake completed).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// TLS handshakes the stand-in refused or that broke off.
    pub fn handshake_failures(&self) -> usize {
        self.shared.handshake_failures.load(Ordering::SeqCst)
    }

    pub fn max_seen_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests have arrived; false if `timeout` passed first.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| lock(&s.recorded).len() >= n)
            .await
    }

    /// Waits until `n` TLS handshakes have been refused; false if `timeout` passed first.
    pub async fn wait_for_handshake_failures(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| {
            s.handshake_failures.load(Ordering::SeqCst) >= n
        })
        .await
    }

    async fn wait_until(&self, timeout: Duration, done: impl Fn(&Shared) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Created before the check, so a change in between still wakes us.
            let changed = self.shared.changed.notified();
            if done(&self.shared) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return done(&self.shared);
            }
        }
    }
}

impl Drop for FakeApns {
    fn drop(&mut self) {
        // Connection and request tasks live in JoinSets owned by this task and go with it.
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
