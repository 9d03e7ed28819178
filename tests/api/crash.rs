//! Deliveries survive a crash, and instances sharing a database never deliver a job twice.
//! The crash test runs the real `passwright serve` binary and kills it with SIGKILL in the
//! middle of a program-wide fan-out.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use passwright::clock::SystemClock;
use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::device::{install, push_token, Device};
use crate::fake_apns::FakeApns;
use crate::helpers::*;

/// Registers `members` members with `per_member` devices each; returns every push token.
async fn registered_devices(
    app: &TestApp,
    program: &str,
    members: u32,
    per_member: u32,
) -> Vec<String> {
    let mut tokens = Vec::new();
    for m in 0..members {
        let member = app.member(program, &format!("Member {m}")).await;
        let pass = install(app, &member).await;
        for d in 0..per_member {
            let n = m * per_member + d;
            let phone = Device::new(&format!("device-{n}"), &push_token(n));
            assert_eq!(phone.register(&pass).await, 201);
            tokens.push(phone.push_token.clone());
        }
    }
    tokens
}

async fn rename(app: &TestApp, program: &str, name: &str) {
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/programs/{program}"),
            Some(&app.admin),
            Some(&json!({ "name": name })),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

fn distinct_tokens(fake: &FakeApns) -> BTreeSet<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.status == Some(200))
        .filter_map(|r| r.token)
        .collect()
}

/// Waits (on the stand-in's notifications) until every token got a push, or `timeout`.
async fn until_all_pushed(fake: &FakeApns, tokens: &[String], timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let got = distinct_tokens(fake);
        if tokens.iter().all(|t| got.contains(t)) {
            return true;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        fake.wait_for(fake.requests().len() + 1, left).await;
    }
}

/// Waits until nothing is pending or running in the outbox (at most 30 s); returns the stats.
async fn until_drained(app: &TestApp) -> passwright::storage::OutboxStats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = app.state.store.outbox_stats().await.unwrap();
        if s.pending == 0 && s.running == 0 {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox never drained: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many pushes each token got.
fn pushes_per_token(fake: &FakeApns) -> BTreeMap<String, usize> {
    let mut per_token = BTreeMap::new();
    for r in fake.requests() {
        *per_token.entry(r.token.unwrap()).or_default() += 1;
    }
    per_token
}

struct Serve {
    child: Child,
}

impl Serve {
    fn start(db_url: &str, data_dir: &std::path::Path, fake: &FakeApns, log: &str) -> Serve {
        let ca = data_dir.join("apns-ca.pem");
        std::fs::write(&ca, fake.ca().to_pem().unwrap()).unwrap();
        let log = std::fs::File::create(data_dir.join(log)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_passwright"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(child_env(data_dir))
            .envs([
                ("PASSWRIGHT__SERVER__PORT", "0".to_string()),
                ("PASSWRIGHT__SERVER__WORKERS", "1".to_string()),
                ("PASSWRIGHT__DATABASE__URL", db_url.to_string()),
                ("PASSWRIGHT__APNS__URL", fake.url()),
                ("PASSWRIGHT__APNS__CA_FILE", ca.display().to_string()),
                ("PASSWRIGHT__APNS__TIMEOUT_MS", "1000".to_string()),
                // Two pushes in flight: a push range takes a while, so the kill lands mid-way.
                ("PASSWRIGHT__APNS__MAX_IN_FLIGHT", "2".to_string()),
                ("PASSWRIGHT__OUTBOX__WORKERS", "1".to_string()),
                ("PASSWRIGHT__OUTBOX__BATCH", "10".to_string()),
                ("PASSWRIGHT__OUTBOX__FAN_OUT_BATCH", "25".to_string()),
                ("PASSWRIGHT__OUTBOX__LEASE_MS", "2000".to_string()),
                ("PASSWRIGHT__OUTBOX__POLL_MS", "50".to_string()),
                ("PASSWRIGHT__OUTBOX__COALESCE_MS", "0".to_string()),
                ("PASSWRIGHT__LOG__LEVEL", "info".to_string()),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start passwright serve");
        Serve { child }
    }

    /// SIGKILL: no shutdown, no chance to finish or give back anything.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn crash(engine: Engine, test: &str) {
    // Slow answers keep the fan-out going long enough to kill it half-way.
    let fake = fake_apns(Duration::from_millis(40)).await;
    let data_dir = tempfile::tempdir().unwrap();
    let Some(db) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return;
    };
    // An API-only instance (no workers) takes the requests; the child process delivers.
    let api_dir = tempfile::tempdir().unwrap();
    let app = spawn_with(settings_for(data_dir.path(), &db), api_dir).await;
    let program = app.sample_program().await;
    let tokens = registered_devices(&app, &program, 40, 3).await;

    let serve = Serve::start(&db, data_dir.path(), &fake, "first.log");
    rename(&app, &program, "Renamed once").await;
    assert!(
        fake.wait_for(15, Duration::from_secs(30)).await,
        "the first instance started pushing"
    );
    serve.kill_9();
    let before = distinct_tokens(&fake).len();
    assert!(
        before < tokens.len(),
        "the kill came after the fan-out finished ({before} of {}); the test proves nothing",
        tokens.len()
    );

    let restarted = Serve::start(&db, data_dir.path(), &fake, "second.log");
    let all = until_all_pushed(&fake, &tokens, Duration::from_secs(60)).await;
    let log = std::fs::read_to_string(data_dir.path().join("second.log")).unwrap_or_default();
    assert!(
        all,
        "{} of {} devices got their push after the restart; log:\n{log}",
        distinct_tokens(&fake).len(),
        tokens.len()
    );
    drop(restarted);
}

both_engines!(kill_9_mid_fan_out_loses_no_push, run = crash);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_deliver_each_push_once() {
    let test = "two_instances_on_postgres_deliver_each_push_once";
    let fake = fake_apns(Duration::from_millis(5)).await;
    let first_dir = tempfile::tempdir().unwrap();
    let Some(db) = database_url(Engine::Postgres, first_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return;
    };
    let mut apps = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings_for(dir.path(), &db);
        push_to(&mut settings, dir.path(), &fake);
        settings.outbox.workers = 2;
        settings.outbox.batch = 4;
        settings.outbox.fan_out_batch = 10;
        settings.outbox.poll_ms = 20;
        apps.push(spawn_with_clock(settings, dir, Arc::new(SystemClock)).await);
    }
    let program = apps[0].sample_program().await;
    let tokens = registered_devices(&apps[0], &program, 40, 3).await;
    rename(&apps[1], &program, "Renamed").await;
    assert!(until_all_pushed(&fake, &tokens, Duration::from_secs(60)).await);
    // Let anything still running finish before counting.
    until_drained(&apps[0]).await;
    let per_token = pushes_per_token(&fake);
    assert_eq!(per_token.len(), tokens.len());
    let twice: Vec<_> = per_token.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "pushed more than once: {twice:?}");
    let delivered: Vec<u64> = apps
        .iter()
        .map(|a| {
            a.state
                .outbox
                .counters
                .pushes(passwright::outbox::PushResult::Delivered)
        })
        .collect();
    assert_eq!(delivered.iter().sum::<u64>(), tokens.len() as u64);
    assert!(
        delivered.iter().all(|n| *n > 0),
        "both instances delivered: {delivered:?}"
    );
}

/// A push range that takes longer than the lease (slow answers, one push in flight) keeps its
/// lease: no other worker takes it over, and every device gets exactly one push.
async fn long_range(engine: Engine, test: &str) {
    let fake = fake_apns(Duration::from_millis(60)).await;
    let slow = |settings: &mut passwright::settings::Settings| {
        settings.apns.max_in_flight = 1;
        settings.apns.timeout_ms = 400;
        settings.outbox.workers = 2;
        settings.outbox.poll_ms = 20;
        settings.outbox.coalesce_ms = 0;
        // Twelve pushes of 60 ms one after the other: 720 ms, longer than the lease.
        settings.outbox.lease_ms = 600;
    };
    let clock = Arc::new(SystemClock);
    let Some(app) = spawn_pushing_with(engine, test, &fake, clock, slow).await else {
        return;
    };
    let program = app.sample_program().await;
    let tokens = registered_devices(&app, &program, 4, 3).await;
    rename(&app, &program, "Renamed slowly").await;
    assert!(until_all_pushed(&fake, &tokens, Duration::from_secs(30)).await);
    assert_eq!(until_drained(&app).await.failed, 0);
    // Time for a second worker to push the range again, had it taken it over.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let per_token = pushes_per_token(&fake);
    assert_eq!(per_token.len(), tokens.len());
    assert!(per_token.values().all(|n| *n == 1), "{per_token:?}");
    let done = app.state.store.jobs_in_state("done", 100).await.unwrap();
    let range = done.iter().find(|j| j.kind == "apple_pushes").unwrap();
    assert_eq!(
        range.last_error.as_deref(),
        Some("12 devices: 12 pushed, 0 to retry, 0 failed")
    );
}

both_engines!(
    a_push_range_longer_than_the_lease_keeps_it,
    run = long_range
);
