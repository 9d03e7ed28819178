//! Lean local stand-ins for the campaign bench: an SMTP relay and a Twilio-style SMS API on
//! 127.0.0.1 that accept everything and only count (the test fakes under tests/support keep
//! every message, which 100,000 messages make too heavy), and clients that measure how
//! many messages each stand-in can take per second on its own.
// Each bench compiles this module; only the campaign bench uses it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// An SMTP relay: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; every message accepted.
pub struct SmtpStandIn {
    pub port: u16,
    accepted: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
}

impl SmtpStandIn {
    pub async fn start() -> SmtpStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (a, c) = (accepted.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::Relaxed);
                let a = a.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(stream, a).await;
                });
            }
        });
        SmtpStandIn {
            port,
            accepted,
            connections,
        }
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections opened so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

async fn smtp_session(stream: TcpStream, accepted: Arc<AtomicU64>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 stand-in ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-stand-in\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                }
                accepted.fetch_add(1, Ordering::Relaxed);
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(answer).await?;
    }
}

/// The stand-in's own capacity: `connections` clients each send messages one after another
/// (MAIL, RCPT, DATA of `message` and the dot, waiting for every answer, as lettre does) over
/// one connection for `window`. Messages per second.
pub async fn smtp_capacity(port: u16, connections: usize, window: Duration, message: &str) -> f64 {
    let started = Instant::now();
    let message = Arc::new(format!("{message}\r\n.\r\n"));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let message = message.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read);
            expect(&mut lines, "220").await;
            write.write_all(b"EHLO bench\r\n").await.unwrap();
            expect(&mut lines, "250").await;
            let mut sent = 0u64;
            while started.elapsed() < window {
                for (cmd, code) in [
                    ("MAIL FROM:<cards@bench.example>\r\n", "250"),
                    ("RCPT TO:<member@example.com>\r\n", "250"),
                    ("DATA\r\n", "354"),
                ] {
                    write.write_all(cmd.as_bytes()).await.unwrap();
                    expect(&mut lines, code).await;
                }
                write.write_all(message.as_bytes()).await.unwrap();
                expect(&mut lines, "250").await;
                sent += 1;
            }
            sent
        }));
    }
    per_second(tasks, started).await
}

/// Reads one SMTP reply (all its lines) and checks its code.
async fn expect<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut R, code: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        lines.read_line(&mut line).await.unwrap();
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// A Twilio-style Messages API: every POST is answered `201` with a JSON `sid`.
pub struct SmsStandIn {
    pub base_url: String,
    accepted: Arc<AtomicU64>,
    handle: actix_web::dev::ServerHandle,
}

impl SmsStandIn {
    pub fn start() -> SmsStandIn {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let accepted = Arc::new(AtomicU64::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let counter = accepted.clone();
        let server = HttpServer::new(move || {
            let counter = counter.clone();
            App::new().default_service(web::to(move |body: web::Bytes| {
                let counter = counter.clone();
                async move {
                    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                    let to = form_field(&body, "To");
                    HttpResponse::Created().json(serde_json::json!({
                        "sid": format!("SM{n:032}"), "status": "queued", "to": to
                    }))
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        SmsStandIn {
            base_url,
            accepted,
            handle,
        }
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for SmsStandIn {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn form_field(body: &[u8], name: &str) -> String {
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
        .unwrap_or_default()
}

/// The SMS stand-in's own capacity: `concurrency` clients post Twilio-style forms (basic
/// auth, `To`, `From`, `Body` of `body`) for `window`. Requests per second.
pub async fn sms_capacity(base_url: &str, concurrency: usize, window: Duration, body: &str) -> f64 {
    let client = reqwest::Client::new();
    let url = format!("{base_url}/2010-04-01/Accounts/ACbench/Messages.json");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let (client, url, body) = (client.clone(), url.clone(), body.to_string());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while started.elapsed() < window {
                let to = format!("+1555{:07}", i * 1_000_000 + sent as usize);
                let r = client
                    .post(&url)
                    .basic_auth("ACbench", Some("bench-token"))
                    .form(&[
                        ("To", to.as_str()),
                        ("From", "+15550000000"),
                        ("Body", &body),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let _ = r.bytes().await.unwrap();
                sent += 1;
            }
            sent
        }));
    }
    per_second(tasks, started).await
}

/// Messages per second sent by `tasks` (each returns its count) since `started`.
async fn per_second(tasks: Vec<tokio::task::JoinHandle<u64>>, started: Instant) -> f64 {
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    sent as f64 / started.elapsed().as_secs_f64()
}
