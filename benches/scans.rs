//! Sustained scan actions over HTTP: each request verifies the card code, writes the ledger
//! entry, moves the member, records the scan and enqueues the wallet updates (outbox), in one
//! transaction. Measured against `passwright serve` as its own process (release build), on
//! SQLite and, when `PASSWRIGHT_BENCH_POSTGRES_URL` names a server, on PostgreSQL.
//!
//! Target (issue 5): >= 2,000 actions/s with p99 < 25 ms on this machine. The load generator
//! runs in this process on the same cores as the server, as a till fleet's clients would not;
//! the figures are therefore a floor.
//!
//! Run: `PASSWRIGHT_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench scans`
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the other benches; this one uses the server part only.
#[allow(dead_code)]
mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{percentile, Server};
use serde_json::{json, Value};

const PASS_TYPE_ID: &str = "pass.com.example.bench";
const TEAM_ID: &str = "BENCHTEAM1";
const TARGET_PER_SEC: f64 = 2_000.0;
const TARGET_P99_MS: f64 = 25.0;
const MEMBERS: usize = 1_000;
const CONCURRENCY: usize = 32;

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
}

/// `CONCURRENCY` tills record purchases for `window`, each with its own idempotency key.
async fn load(server: &Server, counter: &Counter, window: Duration, run: &str) -> Load {
    let codes = Arc::new(counter.codes.clone());
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (codes, client) = (codes.clone(), server.client.clone());
        let url = format!("{}/api/v1/scans", server.base);
        let (staff, location, run) = (
            counter.staff.clone(),
            counter.location.clone(),
            run.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = t;
            while started.elapsed() < window {
                let body = json!({"code": codes[i % codes.len()], "location_id": location,
                                  "action": "purchase", "amount": "4.20", "product_types": ["coffee"]});
                let t0 = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&staff)
                    .header("Idempotency-Key", format!("{run}-{t}-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let _ = r.bytes().await.unwrap();
                assert_eq!(status, 201, "scan action refused");
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                i += CONCURRENCY;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Load {
        actions: latencies.len(),
        per_sec: latencies.len() as f64 / wall,
        cpu_ms_per_action: cpu * 1000.0 / latencies.len() as f64,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

async fn bench(engine: &str, env: Vec<(&str, String)>) {
    let server = Server::start(PASS_TYPE_ID, TEAM_ID, &env).await;
    let counter = seed(&server).await;
    let _warm = load(&server, &counter, Duration::from_secs(2), "warm").await;
    for round in 1..=3 {
        let r = load(
            &server,
            &counter,
            Duration::from_secs(10),
            &format!("r{round}"),
        )
        .await;
        println!(
            "{engine} round {round}: {} purchase scans in 10 s = {:.0} actions/s ({:.2} of the {TARGET_PER_SEC:.0}/s target); \
             p50 {:.2} ms, p99 {:.2} ms ({:.2} of the {TARGET_P99_MS:.0} ms limit); server CPU {:.2} ms per action",
            r.actions,
            r.per_sec,
            r.per_sec / TARGET_PER_SEC,
            r.p50,
            r.p99,
            r.p99 / TARGET_P99_MS,
            r.cpu_ms_per_action
        );
    }
}
