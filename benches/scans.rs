//! Sustained scan actions over HTTP: each request verifies the card code, writes the ledger
//! entry, moves the member, records the scan and enqueues the wallet updates (outbox), in one
//! transaction. Measured against `passwright serve` as its own process (release build), on
//! SQLite and, when `PASSWRIGHT_BENCH_POSTGRES_URL` names a server, on PostgreSQL.
//!
//! Target (issue 5): >= 2,000 actions/s with p99 < 25 ms on this machine. Each round measures
//! it directly: purchases offered on a fixed schedule at 2,000/s for 10 s, latency counted
//! from each one's scheduled start (the sustained rate). Then 32 tills back to back for 10 s
//! (the capacity). The load generator runs in this process on the same cores as the server,
//! as a till fleet's clients would not; the figures are therefore a floor.
//!
//! Run: `PASSWRIGHT_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench scans`
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the other benches; this one uses the server part only.
#[allow(dead_code)]
mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{gather, percentile, Server};
use serde_json::{json, Value};

const PASS_TYPE_ID: &str = "pass.com.example.bench";
const TEAM_ID: &str = "BENCHTEAM1";
const TARGET_PER_SEC: f64 = 2_000.0;
const TARGET_P99_MS: f64 = 25.0;
const MEMBERS: usize = 1_000;
const CONCURRENCY: usize = 32;
/// The tills of the sustained-rate part: each has at most one purchase waiting for an answer.
const OPEN_LOOP_TILLS: usize = 256;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // cargo passes `--bench`; `sqlite` or `postgres` runs that engine alone.
    let engines: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(unknown) = engines
        .iter()
        .find(|e| !["sqlite", "postgres"].contains(&e.as_str()))
    {
        eprintln!("unknown engine {unknown:?}: the engines are `sqlite` and `postgres`");
        std::process::exit(2);
    }
    let wanted = |engine: &str| engines.is_empty() || engines.iter().any(|e| e == engine);
    rt.block_on(async {
        if wanted("sqlite") {
            bench("SQLite", Vec::new()).await;
        }
        match std::env::var("PASSWRIGHT_BENCH_POSTGRES_URL") {
            _ if !wanted("postgres") => {}
            Ok(admin) if !admin.is_empty() => {
                let url = common::fresh_database(&admin, "scans").await;
                bench(
                    "PostgreSQL",
                    vec![
                        ("PASSWRIGHT__DATABASE__URL", url.clone()),
                        ("PASSWRIGHT__DATABASE__MAX_CONNECTIONS", "32".into()),
                    ],
                )
                .await;
                common::drop_database(&admin, &url).await;
            }
            _ => println!("PostgreSQL: skipped (set PASSWRIGHT_BENCH_POSTGRES_URL)"),
        }
    });
}

/// What the tills need: a staff key, a location, and the codes on members' cards.
struct Counter {
    staff: String,
    location: String,
    codes: Vec<String>,
}

async fn seed(server: &Server) -> Counter {
    let p = server
        .post(
            "/api/v1/programs",
            json!({"name": "Bench", "organization": "Bench Org",
                   "tiers": [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 500}],
                   "earn_rules": {"points_per_unit": 1, "multipliers": {"coffee": 2}}}),
            None,
        )
        .await;
    let program = p["id"].as_str().unwrap().to_string();
    let location = server
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            json!({"name": "Main"}),
            None,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let staff = server
        .post(
            "/api/v1/keys",
            json!({"name": "Till 1", "role": "staff", "program_id": program}),
            None,
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let mut codes = Vec::with_capacity(MEMBERS);
    for i in 0..MEMBERS {
        let m = server
            .post(
                &format!("/api/v1/programs/{program}/members"),
                json!({"name": format!("Member {i}")}),
                None,
            )
            .await;
        let pass = server
            .client
            .get(m["pass_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        codes.push(barcode(&pass));
    }
    Counter {
        staff,
        location,
        codes,
    }
}

/// The message of the pass's barcode: what a scanner reads.
fn barcode(pkpass: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(pkpass)).unwrap();
    let mut text = String::new();
    zip.by_name("pass.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let pass: Value = serde_json::from_str(&text).unwrap();
    pass["barcodes"][0]["message"].as_str().unwrap().to_string()
}

struct Load {
    actions: usize,
    per_sec: f64,
    cpu_ms_per_action: f64,
    p50: f64,
    p99: f64,
    /// Purchases that were not accepted (sustained-rate part only).
    refused: usize,
}

impl Load {
    /// From the sorted latencies (ms) of `wall` seconds of load that cost the server `cpu`
    /// seconds.
    fn from(latencies: Vec<f64>, wall: f64, cpu: f64) -> Load {
        // No answer at all has no percentiles.
        let pct = |p| {
            if latencies.is_empty() {
                f64::NAN
            } else {
                percentile(&latencies, p)
            }
        };
        Load {
            actions: latencies.len(),
            per_sec: latencies.len() as f64 / wall,
            cpu_ms_per_action: cpu * 1000.0 / latencies.len() as f64,
            p50: pct(0.50),
            p99: pct(0.99),
            refused: 0,
        }
    }
}

/// One till's request: a purchase of the `i`th card under its own idempotency key.
#[derive(Clone)]
struct Till {
    client: reqwest::Client,
    url: String,
    staff: String,
    location: String,
    codes: Arc<Vec<String>>,
    run: String,
}

impl Till {
    fn new(server: &Server, counter: &Counter, run: &str) -> Till {
        Till {
            client: server.client.clone(),
            url: format!("{}/api/v1/scans", server.base),
            staff: counter.staff.clone(),
            location: counter.location.clone(),
            codes: Arc::new(counter.codes.clone()),
            run: run.to_string(),
        }
    }

    /// Panics unless the purchase is accepted: the closed loop measures a server that keeps up.
    async fn purchase(&self, i: usize) {
        assert!(self.try_purchase(i).await, "scan action refused");
    }

    /// Whether the purchase was accepted (201).
    async fn try_purchase(&self, i: usize) -> bool {
        let body = json!({"code": self.codes[i % self.codes.len()], "location_id": self.location,
                          "action": "purchase", "amount": "4.20", "product_types": ["coffee"]});
        let r = self
            .client
            .post(&self.url)
            .bearer_auth(&self.staff)
            .header("Idempotency-Key", format!("{}-{i}", self.run))
            .json(&body)
            .send()
            .await;
        match r {
            Ok(r) => r.status() == 201 && r.bytes().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// Capacity: `CONCURRENCY` tills each send their next purchase as soon as the last one was
/// answered, for `window`. In such a closed loop the mean latency is the number of tills
/// divided by the throughput, so its percentiles say as much about the tills chosen as about
/// the server.
async fn closed_loop(server: &Server, counter: &Counter, window: Duration, run: &str) -> Load {
    let till = Till::new(server, counter, run);
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let till = till.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = t;
            while started.elapsed() < window {
                let t0 = Instant::now();
                till.purchase(i).await;
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                i += CONCURRENCY;
            }
            latencies
        }));
    }
    let (latencies, wall) = gather(tasks, started).await;
    Load::from(latencies, wall, server.cpu_seconds() - cpu_before)
}

/// Sustained rate: purchases are due on a fixed schedule, `rate` a second for `window`,
/// whether or not earlier ones were answered (tills at many counters do not wait for each
/// other), spread over `OPEN_LOOP_TILLS` tills with one purchase in flight each. Each latency
/// runs from the purchase's due time to its answer, so a server that falls behind shows it in
/// full, waits for a free till included (no coordinated omission); the throughput is the
/// accepted purchases over the time until the last answer. Refused or failed purchases are
/// counted, not retried.
async fn open_loop(
    server: &Server,
    counter: &Counter,
    rate: f64,
    window: Duration,
    run: &str,
) -> Load {
    let till = Till::new(server, counter, run);
    let tills = Arc::new(tokio::sync::Semaphore::new(OPEN_LOOP_TILLS));
    let total = (rate * window.as_secs_f64()).round() as usize;
    let cpu_before = server.cpu_seconds();
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let (till, tills) = (till.clone(), tills.clone());
        tasks.push(tokio::spawn(async move {
            let _free = tills.acquire_owned().await.unwrap();
            let accepted = till.try_purchase(i).await;
            accepted.then(|| due.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut load = Load::from(latencies, wall, server.cpu_seconds() - cpu_before);
    load.refused = total - load.actions;
    load
}

async fn bench(engine: &str, env: Vec<(&str, String)>) {
    let server = Server::start(PASS_TYPE_ID, TEAM_ID, &env).await;
    let counter = seed(&server).await;
    let window = Duration::from_secs(10);
    let _warm = closed_loop(&server, &counter, Duration::from_secs(2), "warm").await;
    for round in 1..=3 {
        let r = open_loop(
            &server,
            &counter,
            TARGET_PER_SEC,
            window,
            &format!("open{round}"),
        )
        .await;
        println!(
            "{engine} round {round}, sustained: purchase scans offered at {TARGET_PER_SEC:.0}/s for 10 s \
             from {OPEN_LOOP_TILLS} tills: {} accepted ({} not) at {:.0} actions/s ({:.2} of the target); \
             p50 {:.2} ms, p99 {:.2} ms ({:.2} of the {TARGET_P99_MS:.0} ms limit); server CPU {:.2} ms per action",
            r.actions,
            r.refused,
            r.per_sec,
            r.per_sec / TARGET_PER_SEC,
            r.p50,
            r.p99,
            r.p99 / TARGET_P99_MS,
            r.cpu_ms_per_action
        );
        let r = closed_loop(&server, &counter, window, &format!("closed{round}")).await;
        println!(
            "{engine} round {round}, capacity: {CONCURRENCY} tills back to back: {} purchase scans in 10 s = \
             {:.0} actions/s ({:.2} of the {TARGET_PER_SEC:.0}/s target); p50 {:.2} ms, p99 {:.2} ms; \
             server CPU {:.2} ms per action",
            r.actions,
            r.per_sec,
            r.per_sec / TARGET_PER_SEC,
            r.p50,
            r.p99,
            r.cpu_ms_per_action
        );
    }
}
