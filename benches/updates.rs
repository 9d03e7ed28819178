//! Keeping installed cards current at scale, in one run per database engine.
//!
//! 1. Fan-out (`-- fanout`): 100,000 members, each card registered on one device with its own
//!    push token, bulk-loaded into a fresh database. One program-wide change goes through the
//!    store; the application's own outbox workers fan it out and push through its APNs client to
//!    the local APNs stand-in (tests/support/fake_apns.rs: HTTP/2 over TLS, in this process, in
//!    open mode so that h2load can load it as well). Measured: time from the change to the first
//!    push and to the 100,000th, pushes per second, and that every token got exactly one push.
//!    The limit is the stand-in's own capacity, measured with h2load against the same stand-in
//!    right before and right after; the best of those runs counts (the stricter ratio).
//! 2. Serials updated since (`-- since`): 500,000 members whose cards are each registered on two
//!    devices (an iPhone and its Watch register separately): 1,000,000 registrations. 1 % of
//!    the members then change through the store. Half of the requests go to random devices with
//!    a tag from before the changes (mostly 204), half to devices whose card changed (200).
//!    Latency of `Store::serials_updated_since` alone and of the PassKit endpoint over HTTP.
//!
//! SQLite always; PostgreSQL as well when PASSWRIGHT_BENCH_POSTGRES_URL (or
//! PASSWRIGHT_TEST_POSTGRES_URL) names a server: each part gets a fresh `pw_bench_*` database
//! there, dropped afterwards.
//!
//! Run: `cargo bench --bench updates` (both parts), `-- fanout` or `-- since` for one. Needs
//! h2load (Debian: nghttp2-client) for the fan-out. Results go to docs/BENCHMARKS.md by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the other benches; this one reads its own CPU time with it.
#[allow(dead_code)]
mod common;
#[path = "../tests/support/fake_apns.rs"]
mod fake_apns;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::process_cpu_seconds;
use fake_apns::{FakeApns, FakeApnsOptions, FakeAuth};
use futures_util::StreamExt;
use passwright::clock::{to_micros, OsRandom, SystemClock};
use passwright::domain::apple_ids::{PassTypeId, TeamId};
use passwright::domain::device::{DeviceLibraryId, PushToken};
use passwright::domain::ids::{base32, random_base32, MemberId, ProgramId};
use passwright::domain::program::{Design, EarnRules, Program, Tier, Tiers};
use passwright::settings::Settings;
use passwright::startup::Application;
use passwright::state::AppState;
use passwright::wallet::apple::certs::devca::{generate, DevPkiOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{AnyPool, Executor as _};

const PASS_TYPE_ID: &str = "pass.com.example.bench";
const TEAM_ID: &str = "BENCHTEAM1";

const FANOUT_DEVICES: u64 = 100_000;
const TARGET_PUSHES_PER_SEC: f64 = 5_000.0;
const TARGET_SHARE_OF_CAPACITY: f64 = 0.5;
/// h2load runs against the stand-in: (connections, streams in flight per connection). One
/// connection is what our client uses; more show what the stand-in can take at most.
const H2LOAD_RUNS: [(u32, u32); 3] = [(1, 100), (1, 500), (4, 100)];
const H2LOAD_REQUESTS: u32 = 100_000;
/// Six times what the 5,000/s target allows: past this the fan-out is reported as stuck.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

const SINCE_MEMBERS: u64 = 500_000;
const DEVICES_PER_MEMBER: u64 = 2;
/// Members changed after the tag was handed out: 1 %.
const SINCE_CHANGED: usize = 5_000;
const SINCE_REQUESTS: usize = 10_000;
const SINCE_WARM_UP: usize = 1_000;
const SINCE_CONNECTIONS: usize = 16;
const TARGET_P99_MS: f64 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

fn main() -> ExitCode {
    // cargo passes `--bench`; anything else names the parts to run.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(unknown) = parts
        .iter()
        .find(|p| !["fanout", "since"].contains(&p.as_str()))
    {
        eprintln!("unknown part {unknown:?}: the parts are `fanout` and `since`");
        return ExitCode::FAILURE;
    }
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if wanted("fanout") && !h2load_available() {
        eprintln!(
            "h2load is not installed: the fan-out is compared with the APNs stand-in's capacity, \
             which h2load measures. Install it (Debian: apt-get install nghttp2-client) or run \
             `cargo bench --bench updates -- since`."
        );
        return ExitCode::FAILURE;
    }
    print_machine();
    let admin = postgres_admin_url();
    let mut engines = vec![Engine::Sqlite];
    match &admin {
        Some(_) => engines.push(Engine::Postgres),
        None => println!(
            "PostgreSQL: not configured (PASSWRIGHT_BENCH_POSTGRES_URL=postgres://...); SQLite only"
        ),
    }
    let pki = tempfile::tempdir().unwrap();
    generate(&DevPkiOptions::new(
        PASS_TYPE_ID,
        TEAM_ID,
        passwright::clock::system_now(),
    ))
    .unwrap()
    .write_pem_files(pki.path())
    .unwrap();
    for engine in engines {
        // A runtime per part, so nothing of one part (workers, pools) runs during the next.
        for part in ["fanout", "since"].into_iter().filter(|p| wanted(p)) {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let db = Database::create(engine, admin.as_deref()).await;
                if part == "fanout" {
                    fan_out(&db, pki.path()).await;
                } else {
                    updated_since(&db, pki.path()).await;
                }
                db.remove().await;
            });
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
    ExitCode::SUCCESS
}

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} CPUs ({model}), {mem_gib:.0} GiB");
}

/// The 1-minute load average: the machine is shared, so each part says how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn postgres_admin_url() -> Option<String> {
    [
        "PASSWRIGHT_BENCH_POSTGRES_URL",
        "PASSWRIGHT_TEST_POSTGRES_URL",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// A fresh database: a SQLite file in a temporary directory, or a new PostgreSQL database.
struct Database {
    engine: Engine,
    url: String,
    dir: tempfile::TempDir,
    /// PostgreSQL: the server's admin URL and the database made for this run.
    postgres: Option<(String, String)>,
}

impl Database {
    async fn create(engine: Engine, admin: Option<&str>) -> Database {
        let dir = tempfile::tempdir().unwrap();
        match engine {
            Engine::Sqlite => Database {
                engine,
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                dir,
                postgres: None,
            },
            Engine::Postgres => {
                let admin = admin.expect("PostgreSQL URL").to_string();
                let name = format!("pw_bench_{}", random_base32(&OsRandom, 8));
                let conn = sqlx::PgPool::connect(&admin)
                    .await
                    .expect("connect to the PostgreSQL server");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&conn)
                    .await
                    .unwrap();
                conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Database {
                    engine,
                    url: format!("{base}/{name}"),
                    dir,
                    postgres: Some((admin.clone(), name)),
                }
            }
        }
    }

    async fn remove(self) {
        if let Some((admin, name)) = &self.postgres {
            let conn = sqlx::PgPool::connect(admin).await.unwrap();
            // FORCE: the application's pool is still open (its server has no stop handle here).
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&conn)
                .await
                .unwrap();
            conn.close().await;
        }
    }

    /// A pool of its own for bulk loading, beside the application's.
    async fn loader(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let engine = self.engine;
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // A page cache big enough for the indexes being filled in random order, and statement
                        // journals in memory.
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&self.url)
            .await
            .unwrap()
    }

    async fn version(&self) -> String {
        let pool = self.loader().await;
        let sql = match self.engine {
            Engine::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
            Engine::Postgres => "SELECT version()",
        };
        let v: String = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        v.split(" on ").next().unwrap_or(&v).to_string()
    }
}

/// The application's settings for a bench database: defaults, the development PKI, no pushes,
/// then any `PASSWRIGHT__APNS__*` and `PASSWRIGHT__OUTBOX__*` variables the bench was started
/// with. Nothing else is taken from the environment: a database URL or data directory there
/// belongs to someone's own instance, not to the bench's bulk loads.
fn settings(db: &Database, pki: &std::path::Path) -> Settings {
    let path = |name: &str| pki.join(name).display().to_string();
    let env: Vec<(String, String)> = [
        ("PASSWRIGHT__SERVER__PORT", "0".to_string()),
        ("PASSWRIGHT__DATABASE__URL", db.url.clone()),
        ("PASSWRIGHT__DATA_DIR", db.dir.path().display().to_string()),
        ("PASSWRIGHT__APPLE__SIGNER_CERT", path("signer.pem")),
        ("PASSWRIGHT__APPLE__SIGNER_KEY", path("signer.key")),
        ("PASSWRIGHT__APPLE__WWDR_CERT", path("wwdr.pem")),
        ("PASSWRIGHT__LOG__LEVEL", "warn".to_string()),
        ("PASSWRIGHT__APNS__ENABLED", "false".to_string()),
        // The change is due at once: the time measured is the delivery's, not the window's.
        ("PASSWRIGHT__OUTBOX__COALESCE_MS", "0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    // Delivery settings given to the bench itself (`PASSWRIGHT__APNS__CONNECTIONS=4 cargo
    // bench ...`) come last and win, for trying other values.
    .chain(std::env::vars().filter(|(k, _)| {
        k.starts_with("PASSWRIGHT__APNS__") || k.starts_with("PASSWRIGHT__OUTBOX__")
    }))
    .collect();
    Settings::load_from(None, &env).unwrap()
}

/// Starts the application (HTTP server and outbox workers) and returns its state and port.
async fn start(settings: &Settings) -> (AppState, u16) {
    let app = Application::build_with(settings, Arc::new(SystemClock), Arc::new(OsRandom))
        .await
        .expect("application starts");
    let state = app.state().clone();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    (state, port)
}

fn sample_program() -> Program {
    let design: Design = serde_json::from_value(
        serde_json::json!({"languages": ["en", "de"], "logo_text": "Bench"}),
    )
    .unwrap();
    let now = passwright::clock::system_now();
    let tier = |name: &str, threshold| Tier {
        name: name.into(),
        threshold,
        design: None,
    };
    Program {
        id: ProgramId::generate(&OsRandom),
        name: "Bench".into(),
        organization: "Bench Org".into(),
        pass_type_id: PassTypeId::parse(PASS_TYPE_ID).unwrap(),
        team_id: TeamId::parse(TEAM_ID).unwrap(),
        design: design.validated().unwrap(),
        tiers: Tiers::validated(vec![tier("Bronze", 0), tier("Gold", 500)]).unwrap(),
        earn_rules: EarnRules::default(),
        design_version: 1,
        created_at: now,
        updated_at: now,
        pass_modified: now,
        expiry: None,
    }
}

// Identifiers derived from the row number, random-looking (as real ones are) and unique:
// splitmix64's finaliser is a bijection on u64, and every identifier keeps all 64 bits of one.

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hex(words: &[u64]) -> String {
    words.iter().map(|w| format!("{w:016x}")).collect()
}

fn base32_of(words: &[u64], len: usize) -> String {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    base32(&bytes)[..len].to_string()
}

fn member_id(i: u64) -> String {
    format!("mem_{}", base32_of(&[mix(i ^ 0x1000), mix(i ^ 0x1001)], 16))
}

fn serial(i: u64) -> String {
    base32_of(&[mix(i ^ 0x2000), mix(i ^ 0x2001)], 20)
}

fn auth_token(i: u64) -> String {
    hex(&[mix(i ^ 0x3000), mix(i ^ 0x3001)])
}

/// Device `d` (`member * devices_per_member + k`).
fn device_id(d: u64) -> String {
    hex(&[mix(d ^ 0x4000), mix(d ^ 0x4001)])
}

fn push_token(d: u64) -> String {
    hex(&[
        mix(d ^ 0x5000),
        mix(d ^ 0x5001),
        mix(d ^ 0x5002),
        mix(d ^ 0x5003),
    ])
}

/// Members `0..members` of `program`, each card registered on `per_member` devices, inserted
/// with multi-row statements (1,000 rows each) on a pool of its own. Identifiers are our own
/// letters and digits, so they go into the SQL text as literals.
async fn bulk_load(db: &Database, program: &ProgramId, members: u64, per_member: u64) -> Duration {
    const ROWS: u64 = 1_000;
    let pool = db.loader().await;
    let started = Instant::now();
    let now = to_micros(passwright::clock::system_now());
    let secs = now / 1_000_000;
    let program = program.as_str();
    // One transaction: SQLite then writes each touched index page once, not once per statement.
    let mut tx = pool.begin().await.unwrap();
    for first in (0..members).step_by(ROWS as usize) {
        let mut sql = String::from(
            "INSERT INTO members (id, program_id, name, consent_email, consent_sms, status, balance, \
             lifetime_points, tier, version, card_generation, serial, auth_token, created_at, updated_at, \
             pass_modified) VALUES ",
        );
        for i in first..(first + ROWS).min(members) {
            let sep = if i == first { "" } else { "," };
            write!(
                sql,
                "{sep}('{}', '{program}', 'Member {i}', 0, 0, 'active', 0, 0, 'Bronze', 1, 1, '{}', '{}', {now}, {now}, {secs})",
                member_id(i),
                serial(i),
                auth_token(i)
            )
            .unwrap();
        }
        sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
    }
    let devices = members * per_member;
    for first in (0..devices).step_by(ROWS as usize) {
        let mut sql = String::from(
            "INSERT INTO apple_devices (device_library_id, push_token, created_at, updated_at) VALUES ",
        );
        for d in first..(first + ROWS).min(devices) {
            let sep = if d == first { "" } else { "," };
            write!(
                sql,
                "{sep}('{}', '{}', {now}, {now})",
                device_id(d),
                push_token(d)
            )
            .unwrap();
        }
        sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
        let mut sql = String::from(
            "INSERT INTO apple_registrations (device_library_id, pass_type_id, serial, program_id, push_token, created_at) VALUES ",
        );
        for d in first..(first + ROWS).min(devices) {
            let sep = if d == first { "" } else { "," };
            write!(
                sql,
                "{sep}('{}', '{PASS_TYPE_ID}', '{}', '{program}', '{}', {now})",
                device_id(d),
                serial(d / per_member),
                push_token(d)
            )
            .unwrap();
        }
        sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    if db.engine == Engine::Postgres {
        // What autovacuum does shortly after a load this size; without it the planner guesses.
        sqlx::raw_sql("ANALYZE").execute(&pool).await.unwrap();
    }
    pool.close().await;
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// Part 1: one program-wide change fanned out to every registered device.

async fn fan_out(db: &Database, pki: &std::path::Path) {
    let engine = db.engine.name();
    println!("\n== fan-out on {engine}: one program-wide change, {FANOUT_DEVICES} devices ==");
    let fake = FakeApns::start(FakeApnsOptions::new(FakeAuth::Open)).await;
    let mut settings = settings(db, pki);
    let ca = db.dir.path().join("apns-ca.pem");
    std::fs::write(&ca, fake.ca().to_pem().unwrap()).unwrap();
    settings.apns.enabled = true;
    settings.apns.url = fake.url();
    settings.apns.ca_file = Some(ca);
    let o = &settings.outbox;
    println!(
        "outbox: {} workers, batch {}, fan-out batch {}, poll {} ms; APNs: {} connections, {} in flight",
        o.workers, o.batch, o.fan_out_batch, o.poll_ms, settings.apns.connections, settings.apns.max_in_flight
    );
    let (state, _port) = start(&settings).await;
    println!(
        "database: {}; load average before: {}",
        db.version().await,
        load_average()
    );
    let program = sample_program();
    state.store.insert_program(&program).await.unwrap();
    let took = bulk_load(db, &program.id, FANOUT_DEVICES, 1).await;
    println!(
        "loaded {FANOUT_DEVICES} members, devices and registrations in {:.1} s",
        took.as_secs_f64()
    );

    let payload = db.dir.path().join("payload.json");
    std::fs::write(&payload, "{}").unwrap();
    let before = capacity(&fake, &payload, "before").await;
    client_alone(&state, &fake).await;

    let base = fake.received();
    let program = state.store.program(&program.id).await.unwrap();
    let changed_at = passwright::clock::system_now();
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    state
        .store
        .update_program(&program, state.clock.now())
        .await
        .unwrap();
    let n = FANOUT_DEVICES as usize;
    let arrived = arrivals_reach(&fake, base + n, DRAIN_LIMIT).await;
    let drain = started.elapsed().as_secs_f64();
    let cpu = own_cpu_seconds() - cpu_before;
    if !arrived {
        let got = fake.requests().len() - base;
        let stats = state.store.outbox_stats().await.unwrap();
        println!(
            "FAILED on {engine}: after {drain:.0} s only {got} of {n} pushes had arrived ({:.0}/s); \
             outbox: {} pending, {} running, {} failed",
            got as f64 / drain,
            stats.pending,
            stats.running,
            stats.failed
        );
        return;
    }
    // Anything sent twice would come now; and the workers record their last outcomes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let requests = fake.requests();
    let ours = &requests[base..];
    let mut per_token: HashMap<&str, u32> = HashMap::with_capacity(n);
    for r in ours {
        *per_token
            .entry(r.token.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    let exactly_once = (0..FANOUT_DEVICES)
        .filter(|d| per_token.get(push_token(*d).as_str()) == Some(&1))
        .count();
    let all_200 = ours.iter().filter(|r| r.status == Some(200)).count();
    let since = |t: time::OffsetDateTime| (t - changed_at).as_seconds_f64();
    let first = ours.iter().map(|r| r.at).min().unwrap();
    let last = ours.iter().map(|r| r.at).max().unwrap();
    let rate = n as f64 / drain;
    let mut arrivals: Vec<f64> = ours.iter().map(|r| since(r.at)).collect();
    arrivals.sort_by(f64::total_cmp);
    let share = |p: usize| arrivals[n * p / 100 - 1];
    let stats = state.store.outbox_stats().await.unwrap();
    println!(
        "pushes: first {:.3} s after the change, all {n} after {drain:.2} s: {rate:.0} pushes/s \
         (first to last push: {:.0}/s)",
        since(first),
        (n - 1) as f64 / (last - first).as_seconds_f64()
    );
    println!(
        "this process (passwright and the stand-in) during the fan-out: {} cores busy, {:.1} µs of CPU per push",
        busy(cpu, drain),
        cpu * 1e6 / n as f64
    );
    println!(
        "pushes arrived: 10 % after {:.2} s, 50 % after {:.2} s, 90 % after {:.2} s",
        share(10),
        share(50),
        share(90)
    );
    println!(
        "exactly one push per token: {exactly_once} of {n} tokens; {} requests arrived, {all_200} answered 200; \
         outbox afterwards: {} pending, {} running, {} failed",
        ours.len(),
        stats.pending,
        stats.running,
        stats.failed
    );
    drop(requests);

    let after = capacity(&fake, &payload, "after").await;
    let best = before
        .iter()
        .chain(&after)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    println!(
        "stand-in capacity (best h2load run, {}): {:.0} req/s, the stand-in using {:.1} µs of CPU per request",
        best.0, best.1, best.2
    );
    println!(
        "fan-out on {engine}: {rate:.0} pushes/s = {:.2} of the stand-in's capacity (target >= {TARGET_SHARE_OF_CAPACITY:.2}); \
         {:.2} of {TARGET_PUSHES_PER_SEC:.0}/s (target >= 1.00)",
        rate / best.1,
        rate / TARGET_PUSHES_PER_SEC
    );
}

/// Waits until the stand-in has received `n` requests, looking every 2 ms: waking on every
/// request (`FakeApns::wait_for`) would cost the pushes under test a task wake each.
async fn arrivals_reach(fake: &FakeApns, n: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while fake.received() < n {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

/// The application's APNs client pushing `FANOUT_DEVICES` tokens with nothing else running:
/// the most a fan-out could reach through it against this stand-in.
async fn client_alone(state: &AppState, fake: &FakeApns) {
    let passwright::outbox::Apns::On(client) = state.outbox.apns() else {
        panic!("APNs is on in the bench settings")
    };
    let topic = PassTypeId::parse(PASS_TYPE_ID).unwrap();
    let tokens: Vec<PushToken> = (0..FANOUT_DEVICES)
        .map(|d| PushToken::parse(&push_token(d)).unwrap())
        .collect();
    let base = fake.received();
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let outcomes =
        futures_util::future::join_all(tokens.iter().map(|t| client.push(&topic, t))).await;
    let took = started.elapsed().as_secs_f64();
    let cpu = own_cpu_seconds() - cpu_before;
    let delivered = outcomes
        .iter()
        .filter(|o| matches!(o, passwright::delivery::apns::PushOutcome::Delivered { .. }))
        .count();
    assert_eq!(fake.received() - base, tokens.len());
    println!(
        "APNs client alone (no database): {delivered} of {} pushes delivered in {took:.2} s: {:.0} pushes/s; \
         this process (client and stand-in): {} cores busy, {:.1} µs of CPU per push",
        tokens.len(),
        tokens.len() as f64 / took,
        busy(cpu, took),
        cpu * 1e6 / tokens.len() as f64
    );
}

/// CPU seconds this process (the application and the stand-in) has used so far.
fn own_cpu_seconds() -> f64 {
    process_cpu_seconds(std::process::id())
}

/// `cpu` seconds over `wall` seconds, as cores busy out of the machine's.
fn busy(cpu: f64, wall: f64) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{:.2} of {cores}", cpu / wall)
}

fn h2load_available() -> bool {
    std::process::Command::new("h2load")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// h2load against the stand-in, one run per entry of `H2LOAD_RUNS`: (label, requests/s, the
/// stand-in's µs of CPU per request, from this process's CPU time around the run).
async fn capacity(
    fake: &FakeApns,
    payload: &std::path::Path,
    when: &str,
) -> Vec<(String, f64, f64)> {
    let url = format!("{}/3/device/{}", fake.url(), "ab".repeat(32));
    let mut runs = Vec::new();
    for (connections, streams) in H2LOAD_RUNS {
        let cpu_before = own_cpu_seconds();
        let out = tokio::process::Command::new("h2load")
            .args(["-n", &H2LOAD_REQUESTS.to_string()])
            .args(["-c", &connections.to_string()])
            .args(["-m", &streams.to_string()])
            .args(["-H", &format!("apns-topic: {PASS_TYPE_ID}")])
            .args(["-H", "apns-push-type: background"])
            .args(["-H", "apns-priority: 5"])
            .arg("-d")
            .arg(payload)
            .arg(&url)
            .output()
            .await
            .expect("running h2load");
        let stand_in_cpu = own_cpu_seconds() - cpu_before;
        let text = String::from_utf8_lossy(&out.stdout);
        // "finished in 3.21s, 31152.30 req/s, 1.23MB/s"
        let rate: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("finished in "))
            .and_then(|l| l.split(", ").nth(1))
            .and_then(|v| v.strip_suffix(" req/s"))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("h2load output without a rate:\n{text}"));
        // "status codes: 100000 2xx, 0 3xx, 0 4xx, 0 5xx"
        let ok: u32 = text
            .lines()
            .find_map(|l| l.strip_prefix("status codes: "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert_eq!(
            ok, H2LOAD_REQUESTS,
            "h2load: not every request was answered 200:\n{text}"
        );
        runs.push((
            format!("-c{connections} -m{streams}, {when}"),
            rate,
            stand_in_cpu * 1e6 / f64::from(H2LOAD_REQUESTS),
        ));
    }
    let shown: Vec<String> = runs
        .iter()
        .map(|(label, rate, cpu)| format!("{label}: {rate:.0} (stand-in {cpu:.1} µs CPU each)"))
        .collect();
    println!(
        "stand-in capacity, h2load -n {H2LOAD_REQUESTS}, req/s: {}",
        shown.join("; ")
    );
    runs
}

// ---------------------------------------------------------------------------------------------
// Part 2: "serials updated since" with a million registrations.

/// One request: a device, and the serial the answer must list when its card changed.
struct Probe {
    device: String,
    changed: Option<String>,
}

/// Alternately a random device (its card most likely unchanged) and a device whose card changed.
fn probes(rng: &mut StdRng, changed: &[u64], n: usize) -> Vec<Probe> {
    (0..n)
        .map(|k| {
            if k % 2 == 0 {
                Probe {
                    device: device_id(rng.gen_range(0..SINCE_MEMBERS * DEVICES_PER_MEMBER)),
                    changed: None,
                }
            } else {
                let member = changed[rng.gen_range(0..changed.len())];
                let d = member * DEVICES_PER_MEMBER + rng.gen_range(0..DEVICES_PER_MEMBER);
                Probe {
                    device: device_id(d),
                    changed: Some(serial(member)),
                }
            }
        })
        .collect()
}

/// Latencies in milliseconds of the two halves: random devices, changed devices.
#[derive(Default)]
struct Timings {
    random: Vec<f64>,
    changed: Vec<f64>,
    /// Random devices that got a 200 (their card was among the changed ones).
    random_200: usize,
}

impl Timings {
    fn add(&mut self, probe: &Probe, ms: f64, listed: Option<&[String]>) {
        let listed = listed.unwrap_or_default();
        match &probe.changed {
            Some(serial) => {
                assert!(listed.contains(serial), "a changed card was not listed");
                self.changed.push(ms);
            }
            None => {
                self.random_200 += usize::from(!listed.is_empty());
                self.random.push(ms);
            }
        }
    }

    fn merge(&mut self, other: Timings) {
        self.random.extend(other.random);
        self.changed.extend(other.changed);
        self.random_200 += other.random_200;
    }

    fn report(mut self, what: &str, extra: &str) {
        let mut all: Vec<f64> = self.random.iter().chain(&self.changed).copied().collect();
        let p99 = percentile(&mut all, 0.99);
        println!(
            "{what}: {} requests{extra}\n  all:                  {}\n  random devices ({} of {} were 200): {}\n  changed devices (200): {}\n  p99 / {TARGET_P99_MS:.0} ms = {:.3} (target < 1.00)",
            all.len(),
            summary(&mut all),
            self.random_200,
            self.random.len(),
            summary(&mut self.random),
            summary(&mut self.changed),
            p99 / TARGET_P99_MS
        );
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = (v.len() as f64 * p).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn summary(v: &mut [f64]) -> String {
    format!(
        "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(v, 0.50),
        percentile(v, 0.90),
        percentile(v, 0.99),
        percentile(v, 1.0)
    )
}

async fn updated_since(db: &Database, pki: &std::path::Path) {
    let engine = db.engine.name();
    let registrations = SINCE_MEMBERS * DEVICES_PER_MEMBER;
    println!("\n== serials updated since on {engine}: {registrations} registrations ==");
    let mut settings = settings(db, pki);
    // Nothing delivers here: the requests are measured alone.
    settings.outbox.workers = 0;
    settings.passkit.device_burst = 1_000_000;
    settings.passkit.device_per_minute = 1_000_000;
    let (state, port) = start(&settings).await;
    println!(
        "database: {}; load average before: {}",
        db.version().await,
        load_average()
    );
    let store = &state.store;
    let program = sample_program();
    store.insert_program(&program).await.unwrap();
    let took = bulk_load(db, &program.id, SINCE_MEMBERS, DEVICES_PER_MEMBER).await;
    println!(
        "loaded {SINCE_MEMBERS} members, each card on {DEVICES_PER_MEMBER} devices ({registrations} devices and \
         registrations) in {:.1} s",
        took.as_secs_f64()
    );

    let pass_type = PassTypeId::parse(PASS_TYPE_ID).unwrap();
    let tag = store
        .serials_updated_since(
            &DeviceLibraryId::parse(&device_id(0)).unwrap(),
            &pass_type,
            None,
        )
        .await
        .unwrap()
        .expect("device 0 has a registration")
        .tag;

    let mut rng = StdRng::seed_from_u64(20_261_123);
    let changed: Vec<u64> =
        rand::seq::index::sample(&mut rng, SINCE_MEMBERS as usize, SINCE_CHANGED)
            .into_iter()
            .map(|i| i as u64)
            .collect();
    let clock = &state.clock;
    let started = Instant::now();
    futures_util::stream::iter(changed.iter().copied())
        .map(|i| async move {
            let mut member = store
                .member(&MemberId::from_trusted(member_id(i)))
                .await
                .unwrap();
            member.name = format!("Member {i}, renamed");
            store
                .update_member_profile(&member, clock.now())
                .await
                .unwrap();
        })
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    println!(
        "changed {SINCE_CHANGED} members (1 %) with Store::update_member_profile, 4 at a time, in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The store call alone.
    let mut timings = Timings::default();
    for (k, probe) in probes(&mut rng, &changed, SINCE_WARM_UP + SINCE_REQUESTS)
        .iter()
        .enumerate()
    {
        let device = DeviceLibraryId::parse(&probe.device).unwrap();
        let t0 = Instant::now();
        let answer = store
            .serials_updated_since(&device, &pass_type, Some(&tag))
            .await
            .unwrap()
            .expect("every device has a registration");
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        if k >= SINCE_WARM_UP {
            timings.add(probe, ms, Some(answer.serials.as_slice()));
        }
    }
    timings.report(
        &format!("serials updated since on {engine}, Store::serials_updated_since alone"),
        ", one at a time",
    );

    // Over HTTP, one keep-alive connection, one request at a time.
    let base = format!("http://127.0.0.1:{port}/wallet/v1/devices");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(SINCE_CONNECTIONS)
        .build()
        .unwrap();
    let mut timings = Timings::default();
    for (k, probe) in probes(&mut rng, &changed, SINCE_WARM_UP + SINCE_REQUESTS)
        .iter()
        .enumerate()
    {
        let t0 = Instant::now();
        let listed = ask(&client, &base, probe, &tag).await;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        if k >= SINCE_WARM_UP {
            timings.add(probe, ms, listed.as_deref());
        }
    }
    timings.report(
        &format!("serials updated since on {engine}, GET over HTTP"),
        ", one keep-alive connection, one at a time",
    );

    // Over HTTP, many connections at once: latency under load.
    let all = Arc::new(probes(&mut rng, &changed, 2 * SINCE_REQUESTS));
    let tag = Arc::new(tag);
    let started = Instant::now();
    let tasks: Vec<_> = (0..SINCE_CONNECTIONS)
        .map(|c| {
            let (all, tag, client, base) = (all.clone(), tag.clone(), client.clone(), base.clone());
            tokio::spawn(async move {
                let mut timings = Timings::default();
                for probe in all.iter().skip(c).step_by(SINCE_CONNECTIONS) {
                    let t0 = Instant::now();
                    let listed = ask(&client, &base, probe, &tag).await;
                    timings.add(
                        probe,
                        t0.elapsed().as_secs_f64() * 1000.0,
                        listed.as_deref(),
                    );
                }
                timings
            })
        })
        .collect();
    let mut timings = Timings::default();
    for t in tasks {
        timings.merge(t.await.unwrap());
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    timings.report(
        &format!("serials updated since on {engine}, GET over HTTP under load"),
        &format!(", {SINCE_CONNECTIONS} keep-alive connections at once: {rate:.0} req/s"),
    );
}

/// GET serials-updated-since for the probe's device; the serials listed (None for 204).
async fn ask(
    client: &reqwest::Client,
    base: &str,
    probe: &Probe,
    tag: &str,
) -> Option<Vec<String>> {
    let r = client
        .get(format!(
            "{base}/{}/registrations/{PASS_TYPE_ID}",
            probe.device
        ))
        .query(&[("passesUpdatedSince", tag)])
        .send()
        .await
        .unwrap();
    match r.status().as_u16() {
        204 => None,
        200 => {
            let body: serde_json::Value = r.json().await.unwrap();
            Some(
                body["serialNumbers"]
                    .as_array()
                    .expect("serialNumbers")
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect(),
            )
        }
        other => panic!("serials updated since answered {other}"),
    }
}
