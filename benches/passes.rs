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
//! 6. The floor of the stack: this bench binary, started again as a child process, serves
//!    fresh passes from actix-web with one worker, built on tokio's blocking pool as `serve`
//!    builds them, with nothing else: no database, no link token or key, no cache, no
//!    metrics. What it reaches per core-second is what this stack (actix-web, signing off the
//!    async executor) gives with nothing but the build to do: a ceiling for `serve`, which
//!    does more per pass. A second route first reads one row by primary key from a SQLite
//!    file through sqlx (WAL, four pooled connections): the same for a server that consults
//!    the database for each pass.
//!
//! Run: `cargo bench --bench passes` (release build). Results go to docs/BENCHMARKS.md by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{gather, percentile, Server};
use common::Bracket;
use passwright::clock::{Clock, SystemClock};
use passwright::domain::program::{Design, Program};
use passwright::wallet::apple::certs::devca::{generate, DevPkiOptions};
use passwright::wallet::apple::images::default_images;
use passwright::wallet::apple::pass_json::{self, PassContext};
use passwright::wallet::apple::{build_pkpass, PassAssets};
use serde_json::json;

const PASS_TYPE_ID: &str = "pass.com.example.bench";
const TEAM_ID: &str = "BENCHTEAM1";
/// Set in the child process that runs the floor server (part 6), to the directory for its
/// database.
const FLOOR_SERVER: &str = "PASSWRIGHT_BENCH_FLOOR_SERVER";

fn main() {
    if let Some(dir) = std::env::var_os(FLOOR_SERVER) {
        return floor_server(std::path::Path::new(&dir));
    }
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
        drop(server);

        let floor = FloorServer::start();
        let urls = |route: &str| -> Vec<String> {
            (1..=2000).map(|n| format!("{}/{route}/{n}", floor.base)).collect()
        };
        let _warm = floor.load(urls("pass"), Duration::from_secs(1)).await;
        let _warm = floor.load(urls("pass-db"), Duration::from_secs(1)).await;
        bracket = Bracket::new();
        for round in 1..=2 {
            for (route, what) in [
                ("pass", "actix-web + blocking pool + build, nothing else"),
                ("pass-db", "the same + one SQLite row read through sqlx"),
            ] {
                let r = floor.load(urls(route), window).await;
                let limit = bracket.close();
                report(&format!("floor of the stack, round {round}: {what}"), &r, limit, "");
            }
        }
    });
}

/// The floor server's process, seen from the bench.
struct FloorServer {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    base: String,
    client: reqwest::Client,
}

impl FloorServer {
    fn start() -> FloorServer {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(FLOOR_SERVER, dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        FloorServer {
            child,
            _dir: dir,
            base: format!("http://127.0.0.1:{}", port.trim()),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .unwrap(),
        }
    }

    fn cpu_seconds(&self) -> f64 {
        common::server::process_cpu_seconds(self.child.id())
    }

    /// The same load as `PassBench::load`: 16 connections round robin over `urls`.
    async fn load(&self, urls: Vec<String>, window: Duration) -> LoadResult {
        let cpu_before = self.cpu_seconds();
        let (latencies, wall) = round_robin(&self.client, urls, None, window, 16).await;
        let cpu = self.cpu_seconds() - cpu_before;
        // Every answer is built afresh: the floor server has no cache.
        let signed = latencies.len() as u64;
        LoadResult::new(&latencies, wall, cpu, signed)
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the floor server holds: one signer, one design's assets, one program, and a SQLite
/// table of 2,000 balances.
struct Floor {
    db: sqlx::SqlitePool,
    signer: Arc<passwright::wallet::apple::PassSigner>,
    assets: Arc<PassAssets>,
    program: Program,
    member: passwright::domain::member::Member,
}

/// The child process of part 6: prints its port, then serves `GET /pass/{n}`, a fresh pass
/// for a member whose balance is `n`, and `GET /pass-db/{n}`, the same with the balance of
/// row `n` of a SQLite table in `dir`, until killed.
fn floor_server(dir: &std::path::Path) {
    let pki = generate(&DevPkiOptions::new(
        PASS_TYPE_ID,
        TEAM_ID,
        passwright::clock::system_now(),
    ))
    .unwrap();
    let program = sample_program();
    let mut files = default_images();
    files.extend(pass_json::localizations(&program));
    actix_web::rt::System::new().block_on(async move {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("floor.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let db = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE balances (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
            .execute(&db)
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO balances SELECT i, i * 10 FROM n",
        )
        .execute(&db)
        .await
        .unwrap();
        let floor = actix_web::web::Data::new(Floor {
            db,
            signer: Arc::new(pki.signer(passwright::clock::system_now()).unwrap()),
            assets: Arc::new(PassAssets::new(files).unwrap()),
            member: common::member(&program),
            program,
        });
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(floor.clone())
                .route("/pass/{n}", actix_web::web::get().to(floor_pass))
                .route("/pass-db/{n}", actix_web::web::get().to(floor_pass_db))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        println!("{}", server.addrs()[0].port());
        server.run().await.unwrap();
    });
}

async fn floor_pass(
    floor: actix_web::web::Data<Floor>,
    n: actix_web::web::Path<i64>,
) -> actix_web::HttpResponse {
    floor_build(&floor, n.into_inner()).await
}

/// `floor_pass` with the balance read from the database.
async fn floor_pass_db(
    floor: actix_web::web::Data<Floor>,
    n: actix_web::web::Path<i64>,
) -> actix_web::HttpResponse {
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM balances WHERE id = ?")
        .bind(n.into_inner())
        .fetch_one(&floor.db)
        .await
        .unwrap();
    floor_build(&floor, balance).await
}

async fn floor_build(floor: &Floor, balance: i64) -> actix_web::HttpResponse {
    let mut member = floor.member.clone();
    member.balance = balance;
    let json = pass_json::render(
        &floor.program,
        &member,
        &PassContext {
            web_service_url: "https://example.com/wallet",
            barcode_message: "PW1-x",
        },
    );
    let (assets, signer) = (floor.assets.clone(), floor.signer.clone());
    let bytes = tokio::task::spawn_blocking(move || {
        build_pkpass(&json, &assets, &signer, SystemClock.now())
    })
    .await
    .unwrap()
    .unwrap();
    actix_web::HttpResponse::Ok()
        .content_type("application/vnd.apple.pkpass")
        .body(bytes)
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
        passwright::clock::system_now(),
    ))
    .unwrap();
    let signer = pki.signer(passwright::clock::system_now()).unwrap();
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
        let bytes = build_pkpass(&json, &assets, &signer, SystemClock.now()).unwrap();
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

impl LoadResult {
    /// From the sorted latencies (ms) of `wall` seconds of load that cost the server `cpu`
    /// seconds and `signed` signatures.
    fn new(latencies: &[f64], wall: f64, cpu: f64, signed: u64) -> LoadResult {
        let requests = latencies.len() as u64;
        LoadResult {
            requests,
            signed,
            per_wall_sec: requests as f64 / wall,
            per_cpu_sec: requests as f64 / cpu,
            p50_ms: percentile(latencies, 0.50),
            p99_ms: percentile(latencies, 0.99),
        }
    }
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
        let signed_before = self.signed_count().await;
        let cpu_before = self.cpu_seconds();
        let key = with_key.then(|| self.key.clone());
        let (latencies, wall) = round_robin(&self.client, urls, key, window, concurrency).await;
        let cpu = self.cpu_seconds() - cpu_before;
        let signed = self.signed_count().await - signed_before;
        LoadResult::new(&latencies, wall, cpu, signed)
    }
}

/// `concurrency` clients GET `urls` round robin for `window`, with `key` as bearer when given;
/// every answer must be a pass. Returns the sorted latencies (ms) and the wall seconds.
async fn round_robin(
    client: &reqwest::Client,
    urls: Vec<String>,
    key: Option<String>,
    window: Duration,
    concurrency: usize,
) -> (Vec<f64>, f64) {
    let urls = Arc::new(urls);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (urls, client, key) = (urls.clone(), client.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = t;
            while started.elapsed() < window {
                let url = &urls[i % urls.len()];
                i += concurrency;
                let t0 = Instant::now();
                let mut req = client.get(url);
                if let Some(key) = &key {
                    req = req.bearer_auth(key);
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
    gather(tasks, started).await
}
