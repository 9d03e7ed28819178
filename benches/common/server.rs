//! `passwright serve` as its own process for the HTTP benches: started with development
//! certificates and an admin key, its CPU time and memory read from /proc.
// Each bench compiles this module; not every bench uses every part.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use passwright::wallet::apple::certs::devca::{generate, DevPkiOptions};
use serde_json::Value;

pub struct Server {
    child: Child,
    pub base: String,
    pub key: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `serve` with `env` on top of a data directory, certificates and a free port.
    pub async fn start(pass_type_id: &str, team_id: &str, env: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pki = generate(&DevPkiOptions::new(
            pass_type_id,
            team_id,
            passwright::clock::system_now(),
        ))
        .unwrap();
        pki.write_pem_files(&dir.path().join("certs")).unwrap();
        let configure = |cmd: &mut Command| {
            // Settings in the caller's environment belong to their own instance (its database
            // above all); the bench's server gets only what is set here.
            for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PASSWRIGHT__")) {
                cmd.env_remove(k);
            }
            cmd.env("PASSWRIGHT__DATA_DIR", dir.path().join("data"))
                .env("PASSWRIGHT__SERVER__PORT", port.to_string())
                .env("PASSWRIGHT__LOG__LEVEL", "warn")
                .env(
                    "PASSWRIGHT__APPLE__SIGNER_CERT",
                    dir.path().join("certs/signer.pem"),
                )
                .env(
                    "PASSWRIGHT__APPLE__SIGNER_KEY",
                    dir.path().join("certs/signer.key"),
                )
                .env(
                    "PASSWRIGHT__APPLE__WWDR_CERT",
                    dir.path().join("certs/wwdr.pem"),
                );
            for (k, v) in env {
                cmd.env(k, v);
            }
        };
        let bin = env!("CARGO_BIN_EXE_passwright");
        let mut keys = Command::new(bin);
        keys.args(["keys", "create", "--name", "bench", "--role", "admin"]);
        configure(&mut keys);
        let out = keys.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let key = stdout
            .lines()
            .find_map(|l| l.split("keep it safe): ").nth(1))
            .unwrap_or_else(|| {
                panic!(
                    "no key secret in: {stdout} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .trim()
            .to_string();
        let mut serve = Command::new(bin);
        serve.arg("serve").stdout(Stdio::null());
        configure(&mut serve);
        let child = serve.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        for _ in 0..100 {
            if client.get(format!("{base}/readyz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await; // settle before reading idle RSS
        Server {
            child,
            base,
            key,
            client,
            _dir: dir,
        }
    }

    fn proc_status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn rss_kib(&self) -> u64 {
        self.proc_status("VmRSS:")
    }

    /// utime + stime of the server process, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        process_cpu_seconds(self.child.id())
    }

    /// POSTs with the admin key; panics unless the answer is a success.
    pub async fn post(&self, path: &str, body: Value, idem: Option<&str>) -> Value {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// GETs with the admin key; panics unless the answer is a success.
    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A counter or gauge from /metrics.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let prefix = format!("{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} not in /metrics"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of process `pid` (all its threads), in seconds.
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let cols: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: f64 = cols[11].parse::<f64>().unwrap() + cols[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

/// Waits for load tasks that each return their latencies (ms): all of them sorted, and the
/// wall seconds since `started`.
pub async fn gather(
    tasks: Vec<tokio::task::JoinHandle<Vec<f64>>>,
    started: std::time::Instant,
) -> (Vec<f64>, f64) {
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (latencies, wall)
}

/// Latency percentiles (milliseconds) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}
