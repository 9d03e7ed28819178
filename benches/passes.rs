//! Pass throughput against the machine's own RSA-2048 signing speed, in one run.
//!
//! 1. `openssl speed -seconds 3 rsa2048`: RSA-2048 signs per second on one core: the limit,
//!    measured right before and right after every figure it is compared with.
//! 2. Fresh pass builds in process (render pass.json + manifest + PKCS#7 sign + zip), one thread.
//! 3. `passwright serve` as its own process with one HTTP worker; 16 client connections in this
//!    process ask for passes over HTTP (public link, and the API with a bearer key; database and
//!    build either way). Every request names another member
//!    and the pass cache holds one entry, so every answer is signed afresh. Throughput is divided
//!    by the CPU seconds the server process used (from /proc), giving passes per core-second.
//! 4. The same member again and again: served from the cache. The server's signing counter is
//!    read before and after to show it signed nothing.
//! 5. Idle resident memory of `serve`.
//!
//! Run: `cargo bench --bench passes` (release build). Results go to docs/BENCHMARKS.md by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{percentile, Server};
use common::Bracket;
use passwright::domain::program::{Design, Program};
use passwright::wallet::apple::devca::{generate, DevPkiOptions};
use passwright::wallet::apple::images::default_images;
use passwright::wallet::apple::pass_json::{self, PassContext};
use passwright::wallet::apple::{build_pkpass, PassAssets};
use serde_json::json;

const PASS_TYPE_ID: &str = "pass.com.example.bench";
const TEAM_ID: &str = "BENCHTEAM1";

fn main() {
    // The machine's speed drifts from minute to minute, so every measurement is bracketed by
    // an `openssl speed` run before and after it, and compared with the mean of the two.
    let mut bracket = Bracket::new();
    let mut ratios = Vec::new();
    for round in 1..=3 {
        let build = in_process_builds_per_sec(Duration::from_secs(3));
        let limit = bracket.close();
        println!(
            "round {round}: fresh pass builds in process, 1 thread: {build:.0}/s; openssl speed rsa2048 around it: {limit:.0} sign/s (1 core); ratio {:.2}",
            build / limit
        );
        ratios.push(build / limit);
    }
    ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "fresh pass build / RSA-2048 sign, median of 3 rounds: {:.2} (target >= 0.90)",
        ratios[1]
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Server::start(
            PASS_TYPE_ID,
            TEAM_ID,
            &[
                ("PASSWRIGHT__SERVER__WORKERS", "1".to_string()),
                ("PASSWRIGHT__SERVER__PASS_CACHE_ENTRIES", "1".to_string()),
            ],
        )
        .await;
        let idle_rss = server.rss_kib();
        println!("idle RSS of serve: {:.1} MB (target < 50 MB)", idle_rss as f64 / 1024.0);
        let members = server.seed(2000).await;
        // A fresh bracket for the HTTP figures, opened right before the first load.
        bracket = Bracket::new();

        let api: Vec<String> = members.iter().map(|m| m.0.clone()).collect();
        let links: Vec<String> = members.iter().map(|m| m.1.clone()).collect();
        let window = Duration::from_secs(8);
        let report = |name: &str, r: &LoadResult, limit: f64, target: &str| {
            println!(
                "{name}: {:.0} req/s wall, {:.0} per server core-second; openssl around it {limit:.0} sign/s; ratio {:.2} {target}; signed {} of {} requests; p50 {:.2} ms p99 {:.2} ms",
                r.per_wall_sec, r.per_cpu_sec, r.per_cpu_sec / limit, r.signed, r.requests, r.p50_ms, r.p99_ms
            )
        };
        let fresh_link = server.load(links.clone(), false, window, 16).await;
        let limit = bracket.close();
        report("fresh passes, public pass link (link token + database + build)", &fresh_link, limit, "(target >= 0.75)");
        let fresh_api = server.load(api.clone(), true, window, 16).await;
        let limit = bracket.close();
        report("fresh passes, API with bearer key (key lookup + database + build)", &fresh_api, limit, "(target >= 0.75)");
        let _warm = server.load(vec![links[0].clone(), api[0].clone()], true, Duration::from_millis(200), 1).await;
        let cached_link = server.load(vec![links[0].clone()], false, window, 16).await;
        let limit = bracket.close();
        report("unchanged pass, public link (cache)", &cached_link, limit, "");
        println!("  cached / fresh per core-second: {:.1}x (target >= 5x)", cached_link.per_cpu_sec / fresh_link.per_cpu_sec);
        let cached_api = server.load(vec![api[0].clone()], true, window, 16).await;
        let limit = bracket.close();
        report("unchanged pass, API (cache)", &cached_api, limit, "");
        println!("  cached / fresh per core-second: {:.1}x (target >= 5x)", cached_api.per_cpu_sec / fresh_api.per_cpu_sec);
        println!("RSS after load: {:.1} MB", server.rss_kib() as f64 / 1024.0);
    });
}

fn sample_program() -> Program {
    let design: Design =
        serde_json::from_value(json!({"languages": ["en", "de"], "logo_text": "Bench"})).unwrap();
    common::program("Bench", "Bench Org", design, PASS_TYPE_ID, TEAM_ID)
}

fn in_process_builds_per_sec(window: Duration) -> f64 {
    let pki = generate(&DevPkiOptions::new(
        PASS_TYPE_ID,
        TEAM_ID,
        time::OffsetDateTime::now_utc(),
    ))
    .unwrap();
    let signer = pki.signer(time::OffsetDateTime::now_utc()).unwrap();
    let program = sample_program();
    let mut files = default_images();
    files.extend(pass_json::localizations(&program));
    let assets = PassAssets::new(files).unwrap();
    let mut member = common::member(&program);
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < window {
        member.balance += 1;
        let json = pass_json::render(
            &program,
            &member,
            &PassContext {
                web_service_url: "https://example.com/wallet",
                barcode_message: "PW1-x",
            },
        );
        let bytes = build_pkpass(&json, &assets, &signer).unwrap();
        assert!(bytes.len() > 1000);
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

struct LoadResult {
    requests: u64,
    signed: u64,
    per_wall_sec: f64,
    per_cpu_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// The pass-specific parts of the bench server.
trait PassBench {
    async fn seed(&self, n: usize) -> Vec<(String, String)>;
    async fn signed_count(&self) -> u64;
    async fn load(
        &self,
        urls: Vec<String>,
        with_key: bool,
        window: Duration,
        concurrency: usize,
    ) -> LoadResult;
}

impl PassBench for Server {
    /// Members of a new program: (API pass URL, public pass link).
    async fn seed(&self, n: usize) -> Vec<(String, String)> {
        let p = self
            .post("/api/v1/programs", json!({"name": "Bench", "organization": "Bench Org", "tiers": [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 500}], "design": {"languages": ["en", "de"]}}), None)
            .await;
        let program = p["id"].as_str().unwrap().to_string();
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            let m = self
                .post(
                    &format!("/api/v1/programs/{program}/members"),
                    json!({"name": format!("Member {i}")}),
                    None,
                )
                .await;
            let api = format!(
                "{}/api/v1/members/{}/pass",
                self.base,
                m["id"].as_str().unwrap()
            );
            members.push((api, m["pass_url"].as_str().unwrap().to_string()));
        }
        members
    }

    /// The server's own count of signed passes, from /metrics.
    async fn signed_count(&self) -> u64 {
        self.metric("passwright_passes_signed_total").await as u64
    }

    /// Requests `urls` round robin from `concurrency` clients; `with_key` sends the API key.
    async fn load(
        &self,
        urls: Vec<String>,
        with_key: bool,
        window: Duration,
        concurrency: usize,
    ) -> LoadResult {
        let urls = Arc::new(urls);
        let signed_before = self.signed_count().await;
        let cpu_before = self.cpu_seconds();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..concurrency {
            let urls = urls.clone();
            let client = self.client.clone();
            let key = self.key.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = t;
                while started.elapsed() < window {
                    let url = &urls[i % urls.len()];
                    i += concurrency;
                    let t0 = Instant::now();
                    let mut req = client.get(url);
                    if with_key {
                        req = req.bearer_auth(&key);
                    }
                    let r = req.send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    let body = r.bytes().await.unwrap();
                    assert!(body.len() > 1000);
                    latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = self.cpu_seconds() - cpu_before;
        latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let requests = latencies.len() as u64;
        LoadResult {
            requests,
            signed: self.signed_count().await - signed_before,
            per_wall_sec: requests as f64 / wall,
            per_cpu_sec: requests as f64 / cpu,
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
        }
    }
}
