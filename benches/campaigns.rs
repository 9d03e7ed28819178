//! A campaign to every member of a large program, delivered to local stand-ins: an SMTP relay
//! and a Twilio-style SMS API, both in this process on 127.0.0.1. `passwright serve` runs as
//! its own process (release build, default outbox settings) on SQLite and, when
//! `PASSWRIGHT_BENCH_POSTGRES_URL` names a server, on PostgreSQL.
//!
//! Per engine: the members are imported from one CSV file (rows/s); an email campaign and
//! then an SMS campaign to all of them are sent, and the bench polls the campaign until every
//! message is delivered or skipped: messages per second, time to queue (every member has a
//! message) and to drain (nothing queued), server CPU per message, peak RSS, each next to the
//! stand-in's own capacity measured in the same run by a client that does nothing else.
//! Then the landing page under load: `wrk` (Debian's `wrk`; an in-process client when it is
//! not installed) against a campaign enrollment link as a desktop browser and a personal card
//! link as an iPhone: requests/s, p50 and p99.
//!
//! Run: `PASSWRIGHT_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench campaigns`
//! (`PASSWRIGHT_BENCH_MEMBERS` sets the program's size, default 100,000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // shared with the other benches; this one uses the server and stand-ins
mod common;

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use common::server::{gather, percentile, Server};
use common::stand_ins::{sms_capacity, smtp_capacity, SmsStandIn, SmtpStandIn};
use serde_json::{json, Value};

const PASS_TYPE_ID: &str = "pass.com.example.bench";
const TEAM_ID: &str = "BENCHTEAM1";
/// Every this-many-th member has not consented to either channel, so is skipped.
const NO_CONSENT_EVERY: usize = 20;
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                       Chrome/126.0 Safari/537.36";

fn main() {
    let members: usize = std::env::var("PASSWRIGHT_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        bench("SQLite", Vec::new(), members).await;
        match std::env::var("PASSWRIGHT_BENCH_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => {
                let url = common::fresh_database(&admin, "campaigns").await;
                bench(
                    "PostgreSQL",
                    vec![("PASSWRIGHT__DATABASE__URL", url.clone())],
                    members,
                )
                .await;
                common::drop_database(&admin, &url).await;
            }
            _ => println!("PostgreSQL: skipped (set PASSWRIGHT_BENCH_POSTGRES_URL)"),
        }
    });
}

async fn bench(engine: &str, mut env: Vec<(&str, String)>, members: usize) {
    let smtp = SmtpStandIn::start().await;
    let sms = SmsStandIn::start();
    env.extend([
        ("PASSWRIGHT__EMAIL__MODE", "smtp".to_string()),
        ("PASSWRIGHT__EMAIL__HOST", "127.0.0.1".into()),
        ("PASSWRIGHT__EMAIL__PORT", smtp.port.to_string()),
        ("PASSWRIGHT__EMAIL__TLS", "none".into()),
        (
            "PASSWRIGHT__EMAIL__FROM_ADDRESS",
            "cards@bench.example".into(),
        ),
        ("PASSWRIGHT__SMS__MODE", "twilio".into()),
        ("PASSWRIGHT__SMS__BASE_URL", sms.base_url.clone()),
        ("PASSWRIGHT__SMS__ACCOUNT_SID", "ACbench".into()),
        ("PASSWRIGHT__SMS__AUTH_TOKEN", "bench-token".into()),
        ("PASSWRIGHT__SMS__FROM", "+15550000000".into()),
    ]);
    let server = Server::start(PASS_TYPE_ID, TEAM_ID, &env).await;
    let program = server
        .post(
            "/api/v1/programs",
            json!({"name": "Bench Coffee", "organization": "Bench Org",
                   "tiers": [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 500}]}),
            None,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    import(engine, &server, &program, members).await;

    let email = send(engine, &server, &program, "email", members, || {
        smtp.accepted()
    })
    .await;
    let connections = smtp.connections();
    let sample_email = sample_email();
    let capacity = smtp_capacity(smtp.port, 16, Duration::from_secs(5), &sample_email).await;
    println!(
        "{engine} email: {:.0} delivered/s = {:.3} of the SMTP stand-in's own {capacity:.0}/s \
         (16 connections, measured right after); the server opened {} SMTP connections",
        email.delivered_per_sec,
        email.delivered_per_sec / capacity,
        connections
    );

    let text = sample_sms();
    let sms_run = send(engine, &server, &program, "sms", members, || sms.accepted()).await;
    let capacity = sms_capacity(&sms.base_url, 16, Duration::from_secs(5), &text).await;
    println!(
        "{engine} SMS: {:.0} delivered/s = {:.3} of the SMS stand-in's own {capacity:.0}/s \
         (16 concurrent clients, measured right after)",
        sms_run.delivered_per_sec,
        sms_run.delivered_per_sec / capacity
    );

    landing(engine, &server, &program).await;
}

/// The program's members as one CSV import: every member has an email address and a phone
/// number; every `NO_CONSENT_EVERY`th consented to neither.
async fn import(engine: &str, server: &Server, program: &str, members: usize) {
    let mut csv = String::from("external_id,name,email,phone,consent_email,consent_sms\n");
    for i in 0..members {
        let consent = if i % NO_CONSENT_EVERY == NO_CONSENT_EVERY - 1 {
            "no"
        } else {
            "yes"
        };
        writeln!(
            csv,
            "c-{i},Member {i},member{i}@example.com,+1555{i:07},{consent},{consent}"
        )
        .unwrap();
    }
    let bytes = csv.len();
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    let r = server
        .client
        .post(format!(
            "{}/api/v1/programs/{program}/members/import",
            server.base
        ))
        .bearer_auth(&server.key)
        .header("Content-Type", "text/csv")
        .body(csv)
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["imported"], members);
    println!(
        "{engine} import: {members} rows ({:.1} MB CSV) in {wall:.1} s = {:.0} rows/s; \
         server CPU {:.1} s; RSS after {:.0} MB",
        bytes as f64 / 1e6,
        members as f64 / wall,
        server.cpu_seconds() - cpu,
        server.rss_kib() as f64 / 1024.0
    );
}

struct Sent {
    delivered_per_sec: f64,
}

/// Creates a campaign to all members on `channel`, sends it and polls until nothing is
/// queued. `arrived` reads the stand-in's count, which must end equal to `delivered`.
async fn send(
    engine: &str,
    server: &Server,
    program: &str,
    channel: &str,
    members: usize,
    arrived: impl Fn() -> u64,
) -> Sent {
    let campaign = server
        .post(
            &format!("/api/v1/programs/{program}/campaigns"),
            json!({"name": format!("Bench {channel}"), "channel": channel,
                   "template": "card_invite", "data": {"offer": "Double points this week"}}),
            None,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let arrived_before = arrived();
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    server
        .post(
            &format!("/api/v1/campaigns/{campaign}/send"),
            json!({}),
            None,
        )
        .await;
    let (mut queued_at, mut peak_rss) = (None, 0);
    let mut last_report = Instant::now();
    let progress = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak_rss = peak_rss.max(server.rss_kib());
        let c = server.get(&format!("/api/v1/campaigns/{campaign}")).await;
        let p = c["progress"].clone();
        let n = |k: &str| p[k].as_u64().unwrap_or(0) as usize;
        let recorded = n("queued") + n("delivered") + n("failed") + n("skipped");
        if queued_at.is_none() && c["status"] == "sent" {
            assert_eq!(recorded, members, "{c}");
            queued_at = Some(started.elapsed());
        }
        if queued_at.is_some() && n("queued") == 0 {
            break p;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "  {engine} {channel}: {:.0} s, {recorded} messages recorded, {} delivered",
                started.elapsed().as_secs_f64(),
                n("delivered")
            );
        }
    };
    let drained = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu;
    let delivered = progress["delivered"].as_u64().unwrap();
    let skipped = progress["skipped"].as_u64().unwrap();
    assert_eq!(progress["failed"], 0, "{progress}");
    assert_eq!(
        arrived() - arrived_before,
        delivered,
        "the stand-in got what passwright says it delivered"
    );
    assert_eq!(skipped as usize, members / NO_CONSENT_EVERY, "{progress}");
    let per_sec = delivered as f64 / drained;
    println!(
        "{engine} {channel} campaign to {members} members: every member had a message after {:.1} s; \
         drained after {drained:.1} s: {delivered} delivered, {skipped} skipped (no consent) = \
         {per_sec:.0} delivered/s, {:.0} messages/s; server CPU {:.2} ms per message; peak RSS {:.0} MB",
        queued_at.unwrap().as_secs_f64(),
        members as f64 / drained,
        cpu * 1000.0 / members as f64,
        peak_rss as f64 / 1024.0
    );
    Sent {
        delivered_per_sec: per_sec,
    }
}

/// An email the size of the ones the campaign sends, for the stand-in's capacity run.
fn sample_email() -> String {
    let mut m = String::from(
        "From: \"Bench Org\" <cards@bench.example>\r\nTo: member@example.com\r\n\
         Subject: Add your Bench Coffee card to your wallet\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n",
    );
    for _ in 0..60 {
        m.push_str("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n");
    }
    m.push_str("--b--");
    m
}

/// An SMS body the length of the campaign's.
fn sample_sms() -> String {
    "Bench Coffee: your loyalty card is ready. Add it to your wallet: \
     https://cards.example/c/abcdefghijklmnopqrstuvwx Reply STOP to opt out"
        .to_string()
}

/// The landing page under load: a campaign enrollment link as a desktop browser (the form
/// and the QR code), and a member's personal card link as an iPhone (the wallet buttons).
async fn landing(engine: &str, server: &Server, program: &str) {
    let enroll = server
        .post(
            &format!("/api/v1/programs/{program}/links"),
            json!({"channel": "print", "label": "Shop window"}),
            None,
        )
        .await["url"]
        .as_str()
        .unwrap()
        .to_string();
    // The links carry the public base URL; the server listens on `base`.
    let local = |url: &str| {
        let path = &url[url.find("/c/").unwrap()..];
        format!("{}{path}", server.base)
    };
    let card = first_card_link(server, program).await;
    let pages = [
        ("enrollment link, desktop", local(&enroll), DESKTOP),
        ("card link, iPhone", local(&card), IPHONE),
    ];
    for (what, url, agent) in pages {
        let page = server
            .client
            .get(&url)
            .header("User-Agent", agent)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{url}");
        let cpu = server.cpu_seconds();
        let load = if which("wrk") {
            wrk(&url, agent)
        } else {
            in_process(server, &url, agent).await
        };
        let cpu_ms = (server.cpu_seconds() - cpu) * 1000.0 / load.requests as f64;
        println!(
            "{engine} landing page, {what}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms \
             over {} requests ({}, 32 connections, 10 s); server CPU {cpu_ms:.2} ms per page",
            load.per_sec, load.p50, load.p99, load.max, load.requests, load.tool
        );
    }
}

async fn first_card_link(server: &Server, program: &str) -> String {
    let member = server
        .get(&format!("/api/v1/programs/{program}/members?limit=1"))
        .await;
    let id = member["members"][0]["id"].as_str().unwrap();
    server
        .post(
            &format!("/api/v1/members/{id}/links"),
            json!({"channel": "web"}),
            None,
        )
        .await["url"]
        .as_str()
        .unwrap()
        .to_string()
}

struct Load {
    tool: &'static str,
    requests: u64,
    per_sec: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

fn which(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// `wrk -t2 -c32 -d10s --latency`, its figures read from its report.
fn wrk(url: &str, agent: &str) -> Load {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", "-d10s", "--latency", "-H"])
        .arg(format!("User-Agent: {agent}"))
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw error answers:\n{text}");
    let ms = |v: &str| -> f64 {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap());
        let n: f64 = n.parse().unwrap();
        match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            "m" => n * 60_000.0,
            _ => panic!("unit {unit}"),
        }
    };
    let field = |prefix: &str, col: usize| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} not in wrk's report:\n{text}"))
            .split_whitespace()
            .nth(col)
            .unwrap()
            .to_string()
    };
    let requests: u64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    Load {
        tool: "wrk",
        requests,
        per_sec: field("Requests/sec:", 1).parse().unwrap(),
        p50: ms(&field("50%", 1)),
        p99: ms(&field("99%", 1)),
        max: ms(&field("Latency", 3)),
    }
}

/// 32 clients in this process for 10 s, when wrk is not installed.
async fn in_process(server: &Server, url: &str, agent: &str) -> Load {
    let started = Instant::now();
    let window = Duration::from_secs(10);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (client, url, agent) = (server.client.clone(), url.to_string(), agent.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < window {
                let t0 = Instant::now();
                let r = client
                    .get(&url)
                    .header("User-Agent", &agent)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        }));
    }
    let (latencies, wall) = gather(tasks, started).await;
    Load {
        tool: "in-process client",
        requests: latencies.len() as u64,
        per_sec: latencies.len() as f64 / wall,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: *latencies.last().unwrap(),
    }
}
