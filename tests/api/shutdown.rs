//! A clean stop of `passwright serve` (SIGTERM) on SQLite leaves every write in
//! `passwright.db` itself: an operator who stops the service and copies that one file has
//! everything, without the `-wal` file beside it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

const MEMBERS: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_every_write_in_the_database_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = child_env(data_dir.path());
    env.extend([
        ("PASSWRIGHT__SERVER__PORT", port.to_string()),
        ("PASSWRIGHT__APNS__ENABLED", "false".to_string()),
        ("PASSWRIGHT__LOG__LEVEL", "warn".to_string()),
    ]);
    let bin = env!("CARGO_BIN_EXE_passwright");
    let created = Command::new(bin)
        .args(["keys", "create", "--name", "ops", "--role", "admin"])
        .env_clear()
        .envs(env.clone())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&created.stdout);
    let admin = stdout
        .lines()
        .find_map(|l| l.split("keep it safe): ").nth(1))
        .unwrap_or_else(|| panic!("no key in: {stdout}"))
        .trim()
        .to_string();
    let log = data_dir.path().join("serve.log");
    let mut child = Command::new(bin)
        .arg("serve")
        .env_clear()
        .envs(env)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map_or(true, |r| !r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = |path: String, body: serde_json::Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(&admin)
            .json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let program = post(
        "/api/v1/programs".into(),
        json!({"name": "Stop Beans", "organization": "Stop Beans Ltd"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..MEMBERS {
        post(
            format!("/api/v1/programs/{program}/members"),
            json!({"name": format!("Member {i}")}),
        )
        .await;
    }

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "serve did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        status.success(),
        "serve stopped with {status}: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let wal = data_dir.path().join("passwright.db-wal");
    assert_eq!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()),
        0,
        "the write-ahead log was left holding writes"
    );
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        data_dir.path().join("passwright.db"),
        copy.path().join("passwright.db"),
    )
    .unwrap();
    let store = passwright::storage::Store::connect(
        &format!("sqlite://{}/passwright.db", copy.path().display()),
        1,
    )
    .await
    .unwrap();
    assert_eq!(store.count_rows("members").await.unwrap(), MEMBERS as i64);
    assert_eq!(store.count_rows("programs").await.unwrap(), 1);
}
