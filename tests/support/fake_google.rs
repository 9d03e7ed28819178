//! A local Google Wallet stand-in (apns-and-google-testing.md §4): the OAuth token endpoint
//! (`POST /token`, JWT-bearer grant, assertion checked against the test service account's
//! public key) and the walletobjects endpoints under `/walletobjects/v1/` for loyalty and
//! generic classes and objects, kept in memory. Every API call needs a bearer token it issued
//! and that has not expired by its clock. Answers can be scripted per path, request bodies can
//! be checked by a caller-supplied hook, and every request is recorded.
//!
//! Google's behaviour mimicked: insert answers 409 for an existing id and 404 when an object's
//! class is missing; GET, PATCH and PUT answer 404 for a missing id; PATCH merges top-level
//! keys; `addMessage` keeps at most 10 messages and refuses a fourth `TEXT_AND_NOTIFY` message
//! per resource in 24 hours with the 403 `quotaExceeded` body Google has been seen to send.
//!
//! Split by concern: this file holds the server, its state and what tests call; the token
//! endpoint and test service accounts are in fake_google/oauth.rs, the walletobjects endpoints
//! in fake_google/objects.rs, Google's error bodies in fake_google/errors.rs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "fake_google/errors.rs"]
mod errors;
#[path = "fake_google/oauth.rs"]
mod oauth;
#[path = "fake_google/objects.rs"]
mod objects;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use passwright::clock::{SharedClock, SystemClock};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::sync::Notify;

use errors::scripted_error;
use oauth::{token, Trusted};
pub use oauth::{ExpiresIn, TestServiceAccount};
use objects::{api, recent};

pub const API_PREFIX: &str = "/walletobjects/v1";

/// Checks a request body: `(schema name, body)` → the problems found. Schema names are the
/// discovery document's: `LoyaltyClass`, `LoyaltyObject`, `GenericClass`, `GenericObject`,
/// `AddMessageRequest`. Called for inserts, PUT, PATCH and addMessage; a refusal is a 400.
pub type Validator = Arc<dyn Fn(&str, &Value) -> Result<(), Vec<String>> + Send + Sync>;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: String,
    /// The `Authorization` header, if any.
    pub auth: Option<String>,
    /// The status it was answered with.
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The bearer token sent, without `Bearer `.
    pub fn bearer(&self) -> Option<&str> {
        self.auth.as_deref()?.strip_prefix("Bearer ")
    }

    pub fn is_token_request(&self) -> bool {
        self.path == "/token"
    }
}

/// An answer given instead of the real one.
#[derive(Debug, Clone, Copy)]
pub struct Scripted {
    pub status: u16,
    pub retry_after: Option<u64>,
}

struct State {
    requests: Vec<Recorded>,
    /// By key id.
    accounts: HashMap<String, Trusted>,
    expires_in: ExpiresIn,
    tokens_issued: u64,
    /// Token → when it expires.
    tokens: HashMap<String, OffsetDateTime>,
    /// (kind, id) → resource.
    resources: HashMap<(String, String), Value>,
    /// Resource id → times of accepted TEXT_AND_NOTIFY messages.
    notifications: HashMap<String, Vec<OffsetDateTime>>,
    scripted: HashMap<String, VecDeque<Scripted>>,
    validator: Option<Validator>,
}

struct Shared {
    clock: SharedClock,
    token_url: String,
    state: Mutex<State>,
    arrived: Notify,
}

pub struct FakeGoogle {
    shared: Arc<Shared>,
    address: SocketAddr,
    server: ServerHandle,
}

impl FakeGoogle {
    /// Starts on 127.0.0.1 with the wall clock.
    pub async fn start() -> FakeGoogle {
        FakeGoogle::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts with `clock` deciding token expiry and the 24-hour notification window.
    pub async fn start_with_clock(clock: SharedClock) -> FakeGoogle {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            clock,
            token_url: format!("http://{address}/token"),
            state: Mutex::new(State {
                requests: Vec::new(),
                accounts: HashMap::new(),
                expires_in: ExpiresIn::Number(3599),
                tokens_issued: 0,
                tokens: HashMap::new(),
                resources: HashMap::new(),
                notifications: HashMap::new(),
                scripted: HashMap::new(),
                validator: None,
            }),
            arrived: Notify::new(),
        });
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeGoogle {
            shared,
            address,
            server: handle,
        }
    }

    pub fn token_url(&self) -> String {
        self.shared.token_url.clone()
    }

    pub fn api_base_url(&self) -> String {
        format!("http://{}{API_PREFIX}", self.address)
    }

    /// A fresh test service account whose `token_uri` is this stand-in, and which it trusts.
    pub fn service_account(&self) -> TestServiceAccount {
        let account = TestServiceAccount::generate(&self.token_url());
        self.trust(&account);
        account
    }

    /// Accepts assertions signed by `account`'s key.
    pub fn trust(&self, account: &TestServiceAccount) {
        self.state().accounts.insert(
            account.private_key_id.clone(),
            Trusted {
                client_email: account.client_email.clone(),
                public_key_pem: account.public_key_pem.clone(),
            },
        );
    }

    /// How `expires_in` is written from now on.
    pub fn set_expires_in(&self, expires_in: ExpiresIn) {
        self.state().expires_in = expires_in;
    }

    pub fn set_validator(&self, validator: Validator) {
        self.state().validator = Some(validator);
    }

    /// The next `times` requests to `path` (exactly, e.g. `/token` or
    /// `/walletobjects/v1/loyaltyObject/<id>`) answer `status` with a Google-style error.
    pub fn fail_next(&self, path: &str, status: u16, times: usize) {
        self.script(
            path,
            Scripted {
                status,
                retry_after: None,
            },
            times,
        );
    }

    pub fn script(&self, path: &str, answer: Scripted, times: usize) {
        let mut state = self.state();
        let queue = state.scripted.entry(path.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(answer, times));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Requests to the walletobjects API, without the token requests.
    pub fn api_requests(&self) -> Vec<Recorded> {
        let state = self.state();
        let api = state.requests.iter().filter(|r| !r.is_token_request());
        api.cloned().collect()
    }

    pub fn token_requests(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.is_token_request())
            .count()
    }

    pub fn tokens_issued(&self) -> u64 {
        self.state().tokens_issued
    }

    pub fn class(&self, id: &str) -> Option<Value> {
        self.resource("loyaltyClass", id)
    }

    pub fn object(&self, id: &str) -> Option<Value> {
        self.resource("loyaltyObject", id)
    }

    pub fn resource(&self, kind: &str, id: &str) -> Option<Value> {
        self.state()
            .resources
            .get(&(kind.to_owned(), id.to_owned()))
            .cloned()
    }

    /// Drops a stored resource, as when it is deleted in Google's console (or never made it
    /// there): Google then answers 404 for it, and for inserting objects of a missing class.
    pub fn forget(&self, kind: &str, id: &str) -> Option<Value> {
        self.state()
            .resources
            .remove(&(kind.to_owned(), id.to_owned()))
    }

    /// Every stored resource of `kind` (`loyaltyClass`, `loyaltyObject`, …) by id.
    pub fn resources(&self, kind: &str) -> HashMap<String, Value> {
        let state = self.state();
        let of_kind = state.resources.iter().filter(|((k, _), _)| k == kind);
        of_kind
            .map(|((_, id), v)| (id.clone(), v.clone()))
            .collect()
    }

    pub fn objects(&self) -> HashMap<String, Value> {
        self.resources("loyaltyObject")
    }

    pub fn classes(&self) -> HashMap<String, Value> {
        self.resources("loyaltyClass")
    }

    /// The messages an object carries, oldest first.
    pub fn messages(&self, object_id: &str) -> Vec<Value> {
        let object = self.object(object_id).unwrap_or(Value::Null);
        object["messages"].as_array().cloned().unwrap_or_default()
    }

    /// `TEXT_AND_NOTIFY` messages accepted for a resource in the last 24 hours.
    pub fn notifications(&self, id: &str) -> usize {
        let now = self.shared.clock.now();
        let state = self.state();
        let times = state.notifications.get(id).map(Vec::as_slice);
        recent(times.unwrap_or_default(), now)
    }

    /// Waits until at least `n` requests have arrived; false on timeout.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.state().requests.len() >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.state().requests.len() >= n;
            }
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        // Sends the stop command at once; the returned future only waits for completion.
        drop(self.server.stop(false));
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn handle(request: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let method = request.method().as_str().to_owned();
    let path = request.path().to_owned();
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, reply, retry_after) = {
        let mut state = shared.state();
        let now = shared.clock.now();
        let scripted = state.scripted.get_mut(&path).and_then(VecDeque::pop_front);
        let (status, reply) = match scripted {
            Some(s) if path == "/token" => (s.status, json!({"error": "temporarily_unavailable"})),
            Some(s) => (s.status, scripted_error(s.status)),
            None if path == "/token" => token(&mut state, &shared.token_url, now, &method, &body),
            None => api(&mut state, now, &method, &path, auth.as_deref(), &body),
        };
        state.requests.push(Recorded {
            method,
            path,
            body,
            auth,
            status,
        });
        (status, reply, scripted.and_then(|s| s.retry_after))
    };
    shared.arrived.notify_waiters();
    let mut response = HttpResponse::build(StatusCode::from_u16(status).unwrap());
    if let Some(seconds) = retry_after {
        response.insert_header(("Retry-After", seconds.to_string()));
    }
    response.json(reply)
}

type Reply = (u16, Value);
