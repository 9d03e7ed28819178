//! `spawn_app()`: the real application on port 0 with its own fresh database, development
//! certificates shared by the whole test binary, and one method per endpoint.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use passwright::clock::{OsRandom, SystemClock};
use passwright::domain::api_key::Role;
use passwright::settings::Settings;
use passwright::startup::Application;
use passwright::state::AppState;
use passwright::storage::test_postgres;
use passwright::wallet::apple::certs::devca::{generate, DevPkiOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const PASS_TYPE_ID: &str = "pass.com.example.passwright-tests";
pub const TEAM_ID: &str = "TESTTEAM01";

/// The database engine a test runs on: the store's own type.
pub use passwright::storage::Engine;

/// Fake Apple PKI for the whole test run (generated, never committed).
pub struct TestPki {
    pub dir: PathBuf,
    _keep: tempfile::TempDir,
}

impl TestPki {
    pub fn root_pem(&self) -> PathBuf {
        self.dir.join("root.pem")
    }
}

pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let keep = tempfile::tempdir().unwrap();
        let opts = DevPkiOptions::new(PASS_TYPE_ID, TEAM_ID, passwright::clock::system_now());
        generate(&opts)
            .unwrap()
            .write_pem_files(keep.path())
            .unwrap();
        TestPki {
            dir: keep.path().to_path_buf(),
            _keep: keep,
        }
    })
}

/// True when CI demands every optional dependency (`PASSWRIGHT_TEST_REQUIRE` lists them).
pub fn required(what: &str) -> bool {
    std::env::var("PASSWRIGHT_TEST_REQUIRE")
        .map(|v| v.split(',').any(|p| p.trim() == what || p.trim() == "all"))
        .unwrap_or(false)
}

/// Says loudly that a test did not run, or fails when CI requires it.
pub fn skip(test: &str, what: &str, how: &str) {
    if required(what) {
        panic!("{test}: {what} is required (PASSWRIGHT_TEST_REQUIRE) but not available: {how}");
    }
    // Straight to the stderr handle: the test harness captures eprintln! of passing tests.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: {what} not configured ({how}) ***\n"
    );
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub client: reqwest::Client,
    /// An admin key's secret.
    pub admin: String,
    /// Kept so the SQLite file and data directory live as long as the app. Shared, because
    /// a test body that only uses some fields of the app captures only those (edition 2021
    /// closures), and the directory must outlive it anyway: see `both_engines!`.
    pub data_dir: Arc<tempfile::TempDir>,
}

/// A fresh database for one test: a SQLite file in `data_dir`, or a new PostgreSQL database
/// (`None` when no server is configured; the caller says so).
pub async fn database_url(engine: Engine, data_dir: &std::path::Path) -> Option<String> {
    match engine {
        Engine::Sqlite => Some(format!("sqlite://{}", data_dir.join("test.db").display())),
        Engine::Postgres => test_postgres::new_database().await.map(|(_, url)| url),
    }
}

/// Environment for a `passwright serve` (or other command) child process: `data_dir` and the
/// test PKI's certificates. Callers add the rest.
pub fn child_env(data_dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let pki = pki();
    vec![
        ("PASSWRIGHT__DATA_DIR", data_dir.display().to_string()),
        (
            "PASSWRIGHT__APPLE__SIGNER_CERT",
            pki.dir.join("signer.pem").display().to_string(),
        ),
        (
            "PASSWRIGHT__APPLE__SIGNER_KEY",
            pki.dir.join("signer.key").display().to_string(),
        ),
        (
            "PASSWRIGHT__APPLE__WWDR_CERT",
            pki.dir.join("wwdr.pem").display().to_string(),
        ),
    ]
}

pub fn settings_for(data_dir: &std::path::Path, db_url: &str) -> Settings {
    let mut env = child_env(data_dir);
    env.extend([
        ("PASSWRIGHT__SERVER__PORT", "0".to_string()),
        ("PASSWRIGHT__SERVER__WORKERS", "2".to_string()),
        ("PASSWRIGHT__DATABASE__URL", db_url.to_string()),
        ("PASSWRIGHT__DATABASE__MAX_CONNECTIONS", "8".to_string()),
        ("PASSWRIGHT__LOG__LEVEL", "warn".to_string()),
        // Nothing leaves the machine: tests that push point apns.url at a local stand-in.
        ("PASSWRIGHT__APNS__ENABLED", "false".to_string()),
        // Deliveries run when a test drains the outbox, so what arrived can be asserted exactly.
        ("PASSWRIGHT__OUTBOX__WORKERS", "0".to_string()),
        ("PASSWRIGHT__OUTBOX__COALESCE_MS", "0".to_string()),
    ]);
    let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Settings::load_from(None, &env).unwrap()
}

/// Starts the application, or `None` (after saying so) when the engine is not configured.
pub async fn spawn_app(engine: Engine, test: &str) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        test_postgres::skipped(test);
        return None;
    };
    let settings = settings_for(data_dir.path(), &url);
    Some(spawn_with(settings, data_dir).await)
}

pub async fn spawn_with(settings: Settings, data_dir: tempfile::TempDir) -> TestApp {
    spawn_with_clock(settings, data_dir, Arc::new(SystemClock)).await
}

pub async fn spawn_with_clock(
    settings: Settings,
    data_dir: tempfile::TempDir,
    clock: passwright::clock::SharedClock,
) -> TestApp {
    let app = Application::build_with(&settings, clock, Arc::new(OsRandom))
        .await
        .expect("application starts");
    let port = app.port();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let (_, secret) = passwright::keys::create(
        &state.store,
        &OsRandom,
        "test admin",
        Role::Admin,
        None,
        passwright::clock::system_now(),
    )
    .await
    .unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        state,
        client: reqwest::Client::new(),
        admin: secret.expose().to_string(),
        data_dir: Arc::new(data_dir),
    }
}

/// A response with its status and JSON body (or raw bytes).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts that the API refused the request the way a client is told: the `status`, the
    /// stable error `code`, and the request `field` the error names (`None`: it names none).
    #[track_caller]
    pub fn assert_refused(&self, status: u16, code: &str, field: Option<&str>) {
        let error = &self.body["error"];
        assert_eq!(
            (
                self.status.as_u16(),
                error["code"].as_str(),
                error["field"].as_str()
            ),
            (status, Some(code), field),
            "refused otherwise than expected: {}",
            self.body
        );
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "a refusal says why in words: {}",
            self.body
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(Method::GET, path, Some(key), None, &[]).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(key), Some(&body), &[])
            .await
    }

    pub async fn create_program(&self, key: &str, body: Value) -> Reply {
        self.post("/api/v1/programs", key, body).await
    }

    /// A program with tiers at 0/100/500 and a 2x coffee multiplier; returns its id.
    pub async fn sample_program(&self) -> String {
        let r = self
            .create_program(
                &self.admin,
                json!({
                    "name": "Test Beans",
                    "organization": "Test Beans Ltd",
                    "tiers": [
                        {"name": "Bronze", "threshold": 0},
                        {"name": "Silver", "threshold": 100},
                        {"name": "Gold", "threshold": 500}
                    ],
                    "earn_rules": {"points_per_unit": 1, "multipliers": {"coffee": 2}},
                    "design": {"languages": ["en", "de"], "localizations": {"de": {"Gold": "Gold"}}}
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn enroll(&self, program: &str, body: Value) -> Reply {
        self.post(
            &format!("/api/v1/programs/{program}/members"),
            &self.admin,
            body,
        )
        .await
    }

    /// Enrolls a member and returns their id.
    pub async fn member(&self, program: &str, name: &str) -> String {
        let r = self.enroll(program, json!({"name": name})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn earn(&self, member: &str, key: &str, idem: &str, body: Value) -> Reply {
        self.send(
            Method::POST,
            &format!("/api/v1/members/{member}/earn"),
            Some(key),
            Some(&body),
            &[("Idempotency-Key", idem)],
        )
        .await
    }

    pub async fn adjust(&self, member: &str, idem: &str, body: Value) -> Reply {
        self.send(
            Method::POST,
            &format!("/api/v1/members/{member}/adjust"),
            Some(&self.admin),
            Some(&body),
            &[("Idempotency-Key", idem)],
        )
        .await
    }

    pub async fn create_key(&self, role: &str, program: Option<&str>) -> String {
        let mut body = json!({"name": format!("{role} key"), "role": role});
        if let Some(p) = program {
            body["program_id"] = json!(p);
        }
        let r = self.post("/api/v1/keys", &self.admin, body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["secret"].as_str().unwrap().to_string()
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await.unwrap();
        r.text().await.unwrap()
    }

    /// The barcode message of the pass behind `pass_url`, as a phone's Wallet shows it.
    pub async fn pass_barcode(&self, pass_url: &str) -> String {
        let r = reply(self.client.get(pass_url).send().await.unwrap()).await;
        assert_eq!(r.status, 200);
        let pass: serde_json::Value =
            serde_json::from_slice(&crate::passes::unzip(&r.bytes)["pass.json"]).unwrap();
        pass["barcodes"][0]["message"].as_str().unwrap().to_string()
    }

    /// Rows in a table, to prove that refused requests wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        self.state.store.count_rows(table).await.unwrap()
    }
}

pub async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        bytes,
    }
}

/// The one way to run a test on both engines: SQLite, and PostgreSQL when configured (said
/// loudly when not, a failure when required). Two forms:
///
/// - `both_engines!(name, |app: TestApp| async move { .. })`: the body gets an app started on
///   each engine with the default test settings.
/// - `both_engines!(name, run = f)`: for a test that builds its app itself (its own settings,
///   clock or stand-ins), `f(engine, test_name)` runs once per engine; `f` is an async fn or a
///   closure `|engine, test| g(engine, test, ..)`.
///
/// Either way the tests are `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_engines {
    ($name:ident, run = $run:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($run)(Engine::Sqlite, concat!(stringify!($name), "::sqlite")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($run)(Engine::Postgres, concat!(stringify!($name), "::postgres")).await;
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) =
                    spawn_app(Engine::Sqlite, concat!(stringify!($name), "::sqlite")).await
                {
                    let keep = app.data_dir.clone();
                    ($body)(app).await;
                    drop(keep);
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    spawn_app(Engine::Postgres, concat!(stringify!($name), "::postgres")).await
                {
                    let keep = app.data_dir.clone();
                    ($body)(app).await;
                    drop(keep);
                }
            }
        }
    };
}

/// Points the app's APNs client at a local stand-in, trusting the stand-in's CA.
pub fn push_to(
    settings: &mut Settings,
    data_dir: &std::path::Path,
    fake: &crate::fake_apns::FakeApns,
) {
    let ca = data_dir.join("apns-ca.pem");
    std::fs::write(&ca, fake.ca().to_pem().unwrap()).unwrap();
    settings.apns.enabled = true;
    settings.apns.url = fake.url();
    settings.apns.ca_file = Some(ca);
    settings.apns.timeout_ms = 5_000;
    settings.outbox.retry_base_ms = 1_000;
}

/// An app whose pushes go to `fake`, on `engine`, with `clock`; `None` when the engine is
/// not configured (after saying so).
pub async fn spawn_pushing(
    engine: Engine,
    test: &str,
    fake: &crate::fake_apns::FakeApns,
    clock: passwright::clock::SharedClock,
) -> Option<TestApp> {
    spawn_pushing_with(engine, test, fake, clock, |_| {}).await
}

/// [`spawn_pushing`] with settings changed by `tweak` first.
pub async fn spawn_pushing_with(
    engine: Engine,
    test: &str,
    fake: &crate::fake_apns::FakeApns,
    clock: passwright::clock::SharedClock,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    push_to(&mut settings, data_dir.path(), fake);
    tweak(&mut settings);
    Some(spawn_with_clock(settings, data_dir, clock).await)
}

/// The stand-in requiring the test PKI's Pass Type ID certificate, as APNs does.
pub async fn fake_apns(delay: std::time::Duration) -> crate::fake_apns::FakeApns {
    use crate::fake_apns::{FakeApns, FakeApnsOptions, FakeAuth};
    let root = openssl::x509::X509::from_pem(&std::fs::read(pki().root_pem()).unwrap()).unwrap();
    let mut options = FakeApnsOptions::new(FakeAuth::Certificate { trust: root });
    options.delay = delay;
    FakeApns::start(options).await
}
