//! A local APNs stand-in speaking the real protocol: TLS with ALPN `h2` (a client certificate
//! required in certificate mode), HTTP/2 served with the `h2` crate, the request checks APNs
//! makes for a pass push, scriptable answers per device token, and a record of every request.
//! Used by the integration tests (tests/api/apns.rs) and the benches.
//!
//! Answers follow Apple's table (apple-webservice.md B.5). One choice of ours: a client
//! certificate whose subject UID differs from `apns-topic` gets 400 `TopicDisallowed` ("pushing
//! to this topic is not allowed"); 403 `BadCertificate` is kept for a certificate APNs cannot use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::RecvStream;
use http::{HeaderMap, Method, Request, Response};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{self, AlpnError, Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509Builder, X509Name, X509};
use passwright::clock::{SharedClock, SystemClock};
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_openssl::SslStream;

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

async fn accept_loop(listener: TcpListener, acceptor: SslAcceptor, shared: Arc<Shared>) {
    let acceptor = Arc::new(acceptor);
    let mut connections = JoinSet::new();
    while let Ok((tcp, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(
            tcp,
            Arc::clone(&acceptor),
            Arc::clone(&shared),
        ));
    }
}

async fn serve_connection(tcp: TcpStream, acceptor: Arc<SslAcceptor>, shared: Arc<Shared>) {
    let Ok(tls) = handshake(tcp, &acceptor).await else {
        shared.handshake_failures.fetch_add(1, Ordering::SeqCst);
        shared.changed.notify_waiters();
        return;
    };
    let number = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let peer_uid = tls.ssl().peer_certificate().and_then(|cert| {
        let entry = cert.subject_name().entries_by_nid(Nid::USERID).next()?;
        String::from_utf8(entry.data().as_slice().to_vec()).ok()
    });
    let mut builder = h2::server::Builder::new();
    if let Some(max) = shared.options.max_concurrent_streams {
        builder.max_concurrent_streams(max);
    }
    let Ok(mut conn) = builder.handshake::<_, Bytes>(tls).await else {
        return;
    };
    let peer = Arc::new(Peer { number, peer_uid });
    let mut requests = JoinSet::new();
    let mut seen = 0;
    while let Some(Ok((request, respond))) = conn.accept().await {
        while requests.try_join_next().is_some() {}
        seen += 1;
        if shared.options.drop_after.is_some_and(|n| seen > n) {
            shared.record(head(&request, &peer, &shared), None);
            // Dropping the connection closes the socket: no GOAWAY, no answers.
            return;
        }
        if shared.options.goaway_after == Some(seen) {
            conn.graceful_shutdown();
        }
        requests.spawn(answer(
            request,
            respond,
            Arc::clone(&peer),
            Arc::clone(&shared),
        ));
    }
    // Finish the answers still being delayed before the connection goes.
    while requests.join_next().await.is_some() {}
}

async fn handshake(tcp: TcpStream, acceptor: &SslAcceptor) -> anyhow::Result<SslStream<TcpStream>> {
    let ssl = Ssl::new(acceptor.context())?;
    let mut tls = SslStream::new(ssl, tcp)?;
    Pin::new(&mut tls).accept().await?;
    Ok(tls)
}

struct Peer {
    number: usize,
    /// Subject UID of the client certificate (the pass type id of a Pass Type ID certificate).
    peer_uid: Option<String>,
}

async fn answer(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    peer: Arc<Peer>,
    shared: Arc<Shared>,
) {
    let _in_flight = InFlight::enter(&shared);
    let mut record = head(&request, &peer, &shared);
    record.body = read_body(request.into_body()).await.to_vec();
    let reply = match shared.check(&record, peer.peer_uid.as_deref()) {
        Err((status, reason)) => Reply::error(status, reason),
        Ok(()) => record
            .token
            .as_deref()
            .and_then(|t| lock(&shared.scripts).get_mut(t)?.pop_front())
            .unwrap_or(Reply::Ok),
    };
    let (status, reason, body) = reply.parts();
    record.reason = reason;
    shared.record(record, Some(status));
    if !shared.options.delay.is_zero() {
        tokio::time::sleep(shared.options.delay).await;
    }
    let mut response = Response::builder().status(status);
    if status == 200 {
        let n = shared.answered.fetch_add(1, Ordering::SeqCst) + 1;
        response = response.header("apns-id", format!("00000000-0000-4000-8000-{n:012X}"));
    } else {
        response = response.header("content-type", "application/json");
    }
    let end = body.is_empty();
    if let Ok(mut stream) = respond.send_response(response.body(()).unwrap(), end) {
        if !end {
            let _ = stream.send_data(body, true);
        }
    }
}

/// Counts a request from arrival to answer (or until its task is aborted).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Reply {
    /// Status, reason and body as APNs would send them.
    fn parts(&self) -> (u16, Option<String>, Bytes) {
        match self {
            Reply::Ok => (200, None, Bytes::new()),
            Reply::Error { status, reason } => (
                *status,
                Some(reason.clone()),
                json(&serde_json::json!({ "reason": reason })),
            ),
            Reply::Unregistered { timestamp_ms } => (
                410,
                Some("Unregistered".into()),
                json(&serde_json::json!({ "reason": "Unregistered", "timestamp": timestamp_ms })),
            ),
        }
    }
}

fn json(value: &serde_json::Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// What a request says about itself, before its body is read.
fn head(request: &Request<RecvStream>, peer: &Peer, shared: &Shared) -> Recorded {
    let h = request.headers();
    let path = request.uri().path().to_owned();
    let token = path
        .strip_prefix("/3/device/")
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    Recorded {
        connection: peer.number,
        method: request.method().to_string(),
        path,
        token,
        topic: header(h, "apns-topic"),
        push_type: header(h, "apns-push-type"),
        priority: header(h, "apns-priority"),
        content_type: header(h, "content-type"),
        authorization: header(h, "authorization"),
        body: Vec::new(),
        at: shared.options.clock.now(),
        status: None,
        reason: None,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(mut body: RecvStream) -> Bytes {
    let mut all = BytesMut::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        all.extend_from_slice(&chunk);
    }
    all.freeze()
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

impl Shared {
    fn record(&self, mut record: Recorded, status: Option<u16>) {
        record.status = status;
        lock(&self.recorded).push(record);
        self.changed.notify_waiters();
    }

    /// The checks APNs makes, in its order; the error is (status, reason).
    fn check(&self, r: &Recorded, peer_uid: Option<&str>) -> Result<(), (u16, &'static str)> {
        if r.method != Method::POST.as_str() {
            return Err((405, "MethodNotAllowed"));
        }
        if r.token.is_none() {
            return Err((404, "BadPath"));
        }
        match &self.options.auth {
            FakeAuth::Certificate { .. } => {
                let Some(uid) = peer_uid else {
                    return Err((403, "BadCertificate"));
                };
                if r.topic.as_deref().is_some_and(|topic| topic != uid) {
                    return Err((400, "TopicDisallowed"));
                }
            }
            FakeAuth::Token { .. } => self.check_token(r.authorization.as_deref())?,
            FakeAuth::Open => {}
        }
        if r.topic.is_none() {
            return Err((400, "MissingTopic"));
        }
        if r.push_type.as_deref() != Some("background") {
            return Err((400, "InvalidPushType"));
        }
        if r.priority.as_deref() != Some("5") {
            return Err((400, "BadPriority"));
        }
        // APNs documents no reason for a body that is not JSON; PayloadEmpty covers both.
        if r.body.is_empty() || serde_json::from_slice::<serde_json::Value>(&r.body).is_err() {
            return Err((400, "PayloadEmpty"));
        }
        Ok(())
    }

    fn check_token(&self, authorization: Option<&str>) -> Result<(), (u16, &'static str)> {
        const INVALID: (u16, &str) = (403, "InvalidProviderToken");
        let (
            FakeAuth::Token {
                key_id, team_id, ..
            },
            Some(key),
        ) = (&self.options.auth, &self.token_key)
        else {
            return Ok(());
        };
        let Some(authorization) = authorization else {
            return Err((403, "MissingProviderToken"));
        };
        let jwt = authorization.strip_prefix("bearer ").ok_or(INVALID)?;
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| INVALID)?;
        if header.alg != jsonwebtoken::Algorithm::ES256 || header.kid.as_deref() != Some(key_id) {
            return Err(INVALID);
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(jwt, key, &validation)
            .map_err(|_| INVALID)?
            .claims;
        if claims.iss != *team_id {
            return Err(INVALID);
        }
        if self.options.clock.now().unix_timestamp() - claims.iat >= 3600 {
            return Err((403, "ExpiredProviderToken"));
        }
        Ok(())
    }
}

fn acceptor(auth: &FakeAuth, ca: &X509, ca_key: &PKey<Private>) -> anyhow::Result<SslAcceptor> {
    let (cert, key) = make_server_cert(ca, ca_key)?;
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    b.set_certificate(&cert)?;
    b.set_private_key(&key)?;
    b.check_private_key()?;
    b.set_alpn_select_callback(|_, offered| {
        ssl::select_next_proto(b"\x02h2", offered).ok_or(AlpnError::ALERT_FATAL)
    });
    if let FakeAuth::Certificate { trust } = auth {
        b.cert_store_mut().add_cert(trust.clone())?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    Ok(b.build())
}

/// A throwaway P-256 root for the server certificate (fast to make, unlike RSA).
pub fn make_ca() -> anyhow::Result<(X509, PKey<Private>)> {
    let key = p256()?;
    let name = subject("passwright APNs stand-in CA - TESTS ONLY")?;
    let mut b = cert_builder(&name, &name, &key)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

/// CN=localhost for DNS:localhost and IP:127.0.0.1, for TLS servers.
pub fn make_server_cert(
    ca: &X509,
    ca_key: &PKey<Private>,
) -> anyhow::Result<(X509, PKey<Private>)> {
    let key = p256()?;
    let name = subject("localhost")?;
    let mut b = cert_builder(&name, ca.subject_name(), &key)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(san)?;
    b.sign(ca_key, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

fn p256() -> anyhow::Result<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn subject(cn: &str) -> anyhow::Result<X509Name> {
    let mut name = X509Name::builder()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    Ok(name.build())
}

fn cert_builder(
    subject: &openssl::x509::X509NameRef,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
) -> anyhow::Result<X509Builder> {
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer)?;
    b.set_pubkey(key)?;
    // Real time: TLS libraries check validity against the system clock, not a test clock.
    let now = passwright::clock::system_now().unix_timestamp();
    let (not_before, not_after) = (
        Asn1Time::from_unix(now - 3600)?,
        Asn1Time::from_unix(now + 86_400)?,
    );
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    Ok(b)
}
