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
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use passwright::clock::{SharedClock, SystemClock};
use passwright::delivery::google::ServiceAccount;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tokio::sync::Notify;

pub const API_PREFIX: &str = "/walletobjects/v1";
const KINDS: [&str; 4] = [
    "loyaltyClass",
    "loyaltyObject",
    "genericClass",
    "genericObject",
];
const MAX_MESSAGES: usize = 10;
const NOTIFICATIONS_PER_DAY: usize = 3;

/// Checks a request body: `(schema name, body)` → the problems found. Schema names are the
/// discovery document's: `LoyaltyClass`, `LoyaltyObject`, `GenericClass`, `GenericObject`,
/// `AddMessageRequest`. Called for inserts, PUT, PATCH and addMessage; a refusal is a 400.
pub type Validator = Arc<dyn Fn(&str, &Value) -> Result<(), Vec<String>> + Send + Sync>;

/// How the token endpoint writes `expires_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresIn {
    Number(u64),
    /// As a JSON string, which some servers send.
    Text(u64),
}

impl ExpiresIn {
    fn seconds(self) -> u64 {
        match self {
            ExpiresIn::Number(s) | ExpiresIn::Text(s) => s,
        }
    }

    fn json(self) -> Value {
        match self {
            ExpiresIn::Number(s) => json!(s),
            ExpiresIn::Text(s) => json!(s.to_string()),
        }
    }
}

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

struct Trusted {
    client_email: String,
    public_key_pem: Vec<u8>,
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

fn token(
    state: &mut State,
    token_url: &str,
    now: OffsetDateTime,
    method: &str,
    body: &str,
) -> Reply {
    let refuse = |description: &str| {
        (
            400,
            json!({"error": "invalid_grant", "error_description": description}),
        )
    };
    if method != "POST" {
        return (405, json!({"error": "invalid_request"}));
    }
    let Ok(form) = web::Query::<HashMap<String, String>>::from_query(body) else {
        return (400, json!({"error": "invalid_request"}));
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (400, json!({"error": "unsupported_grant_type"}));
    }
    let Some(assertion) = form.get("assertion") else {
        return refuse("no assertion");
    };
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return refuse("the assertion is not a JWT");
    };
    let Some(account) = header.kid.as_ref().and_then(|kid| state.accounts.get(kid)) else {
        return refuse("Invalid JWT Signature.");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[&account.client_email]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // Checked below against this stand-in's clock, which tests move.
    validation.validate_exp = false;
    let key = DecodingKey::from_rsa_pem(&account.public_key_pem).unwrap();
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(error) => return refuse(&format!("bad assertion: {error}")),
    };
    let scope = claims["scope"].as_str().unwrap_or_default();
    if !scope
        .split(' ')
        .any(|s| s.ends_with("/auth/wallet_object.issuer"))
    {
        return (400, json!({"error": "invalid_scope"}));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return refuse("iat and exp must be integers");
    };
    let now_s = now.unix_timestamp();
    if exp <= iat || exp - iat > 3600 {
        return refuse("Invalid JWT: expiration must be within an hour of issue");
    }
    if iat > now_s + 60 || exp <= now_s {
        return refuse(
            "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
        );
    }
    state.tokens_issued += 1;
    let token = format!("test-{}", state.tokens_issued);
    let lifetime = state.expires_in;
    let expires = now + time::Duration::seconds(lifetime.seconds() as i64);
    state.tokens.insert(token.clone(), expires);
    (
        200,
        json!({"access_token": token, "expires_in": lifetime.json(), "token_type": "Bearer"}),
    )
}

fn api(
    state: &mut State,
    now: OffsetDateTime,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Reply {
    let Some(rest) = path
        .strip_prefix(API_PREFIX)
        .and_then(|p| p.strip_prefix('/'))
    else {
        return error(404, "NOT_FOUND", "notFound", "No such endpoint.");
    };
    let bearer = auth.and_then(|a| a.strip_prefix("Bearer "));
    let valid = bearer
        .and_then(|token| state.tokens.get(token))
        .is_some_and(|expires| now < *expires);
    if !valid {
        return error(
            401,
            "UNAUTHENTICATED",
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let kind = parts[0];
    if !KINDS.contains(&kind) {
        return error(404, "NOT_FOUND", "notFound", "No such endpoint.");
    }
    let body: Option<Value> = serde_json::from_str(body).ok();
    match (method, &parts[1..]) {
        ("POST", []) => insert(state, kind, body),
        ("GET", [id]) => match state.resources.get(&key(kind, id)) {
            Some(resource) => (200, resource.clone()),
            None => not_found(kind, id),
        },
        ("PATCH" | "PUT", [id]) => update(state, kind, id, method == "PATCH", body),
        ("POST", [id, "addMessage"]) => add_message(state, now, kind, id, body),
        _ => error(404, "NOT_FOUND", "notFound", "No such method."),
    }
}

fn insert(state: &mut State, kind: &str, body: Option<Value>) -> Reply {
    let Some(body) = body.filter(Value::is_object) else {
        return bad_request(&["the body is not a JSON object".into()]);
    };
    if let Err(problems) = validate(state, &schema_name(kind), &body) {
        return bad_request(&problems);
    }
    let Some(id) = body["id"].as_str().map(str::to_owned) else {
        return bad_request(&["id is required".into()]);
    };
    if state.resources.contains_key(&key(kind, &id)) {
        let what = if kind.ends_with("Class") {
            "Wallet Object Class"
        } else {
            "Wallet Object"
        };
        return error(
            409,
            "ALREADY_EXISTS",
            "conflict",
            &format!("{what} {{{id}}} already exists."),
        );
    }
    if let Some(class_kind) = kind.strip_suffix("Object").map(|k| format!("{k}Class")) {
        let class_id = body["classId"].as_str().unwrap_or_default();
        if !state.resources.contains_key(&key(&class_kind, class_id)) {
            return error(
                404,
                "NOT_FOUND",
                "classNotFound",
                &format!("Wallet Object Class {{{class_id}}} not found."),
            );
        }
    }
    state.resources.insert(key(kind, &id), body.clone());
    (200, body)
}

fn update(state: &mut State, kind: &str, id: &str, merge: bool, body: Option<Value>) -> Reply {
    let Some(Value::Object(fields)) = body else {
        return bad_request(&["the body is not a JSON object".into()]);
    };
    let body = Value::Object(fields.clone());
    if let Err(problems) = validate(state, &schema_name(kind), &body) {
        return bad_request(&problems);
    }
    if fields.get("id").is_some_and(|given| given != id) {
        return bad_request(&[format!("the body's id does not match {id}")]);
    }
    let Some(resource) = state.resources.get_mut(&key(kind, id)) else {
        return not_found(kind, id);
    };
    if merge {
        let stored = resource.as_object_mut().unwrap();
        stored.extend(fields);
    } else {
        let mut replaced: Map<String, Value> = fields;
        replaced.insert("id".into(), json!(id));
        *resource = Value::Object(replaced);
    }
    (200, resource.clone())
}

fn add_message(
    state: &mut State,
    now: OffsetDateTime,
    kind: &str,
    id: &str,
    body: Option<Value>,
) -> Reply {
    let Some(body) = body else {
        return bad_request(&["the body is not JSON".into()]);
    };
    if let Err(problems) = validate(state, "AddMessageRequest", &body) {
        return bad_request(&problems);
    }
    let Some(message) = body.get("message").filter(|m| m.is_object()).cloned() else {
        return bad_request(&["message is required".into()]);
    };
    let Some(resource) = state.resources.get(&key(kind, id)) else {
        return not_found(kind, id);
    };
    let count = resource["messages"].as_array().map_or(0, Vec::len);
    if count >= MAX_MESSAGES {
        return bad_request(&[format!("a pass carries at most {MAX_MESSAGES} messages")]);
    }
    if message["messageType"] == "TEXT_AND_NOTIFY" {
        let times = state.notifications.entry(id.to_owned()).or_default();
        if recent(times, now) >= NOTIFICATIONS_PER_DAY {
            // The body Google answered a fourth notifying message with.
            let text = format!(
                "Quota exceeded for issuer {} when adding TEXT_AND_NOTIFY message to {} {id}.",
                id.split('.').next().unwrap_or_default(),
                if kind.ends_with("Class") {
                    "class"
                } else {
                    "object"
                },
            );
            return (
                403,
                json!({"error": {"code": 403, "message": text, "errors": [
                    {"message": text, "domain": "walletobjects", "reason": "quotaExceeded"}
                ]}}),
            );
        }
        times.push(now);
    }
    let resource = state.resources.get_mut(&key(kind, id)).unwrap();
    let fields = resource.as_object_mut().unwrap();
    let messages = fields.entry("messages").or_insert_with(|| json!([]));
    messages.as_array_mut().unwrap().push(message);
    (200, json!({"resource": resource.clone()}))
}

fn recent(times: &[OffsetDateTime], now: OffsetDateTime) -> usize {
    let since = now - time::Duration::hours(24);
    times.iter().filter(|t| **t > since).count()
}

fn validate(state: &State, schema: &str, body: &Value) -> Result<(), Vec<String>> {
    match &state.validator {
        Some(check) => check(schema, body),
        None => Ok(()),
    }
}

/// `loyaltyObject` → `LoyaltyObject`.
fn schema_name(kind: &str) -> String {
    let mut chars = kind.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn key(kind: &str, id: &str) -> (String, String) {
    (kind.to_owned(), id.to_owned())
}

fn not_found(kind: &str, id: &str) -> Reply {
    let what = if kind.ends_with("Class") {
        "Wallet Object Class"
    } else {
        "Wallet Object"
    };
    error(
        404,
        "NOT_FOUND",
        "resourceNotFound",
        &format!("{what} {{{id}}} not found."),
    )
}

fn bad_request(problems: &[String]) -> Reply {
    let message = format!(
        "Request contains an invalid argument. {}",
        problems.join("; ")
    );
    error(400, "INVALID_ARGUMENT", "invalid", &message)
}

fn scripted_error(status: u16) -> Value {
    let (name, reason) = match status {
        401 => ("UNAUTHENTICATED", "authError"),
        403 => ("PERMISSION_DENIED", "forbidden"),
        404 => ("NOT_FOUND", "notFound"),
        429 => ("RESOURCE_EXHAUSTED", "rateLimitExceeded"),
        500 => ("INTERNAL", "backendError"),
        503 => ("UNAVAILABLE", "backendError"),
        _ => ("UNKNOWN", "unknown"),
    };
    error(status, name, reason, &format!("scripted {status}")).1
}

/// Google's JSON error shape.
fn error(code: u16, status: &str, reason: &str, message: &str) -> Reply {
    (
        code,
        json!({"error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }}),
    )
}

/// A service-account key file like Google's, with a fresh RSA-2048 key and `token_uri`
/// pointing where asked, written to a temporary directory.
pub struct TestServiceAccount {
    pub client_email: String,
    pub private_key_id: String,
    pub json: String,
    pub public_key_pem: Vec<u8>,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestServiceAccount {
    pub fn generate(token_uri: &str) -> TestServiceAccount {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut id = [0u8; 20];
        openssl::rand::rand_bytes(&mut id).unwrap();
        let private_key_id = hex::encode(id);
        let client_email = "svc@test.iam.gserviceaccount.com".to_owned();
        let json = json!({
            "type": "service_account",
            "project_id": "passwright-test",
            "private_key_id": private_key_id,
            "private_key": String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
            "client_email": client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        })
        .to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service-account.json");
        std::fs::write(&path, &json).unwrap();
        TestServiceAccount {
            client_email,
            private_key_id,
            json,
            public_key_pem: key.public_key_to_pem().unwrap(),
            path,
            _dir: dir,
        }
    }

    /// The key file as passwright reads it.
    pub fn load(&self) -> Arc<ServiceAccount> {
        Arc::new(ServiceAccount::from_file(&self.path).unwrap())
    }
}
