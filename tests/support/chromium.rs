//! Headless Chromium for the page tests, driven through `tests/node/browser.mjs`
//! (puppeteer-core) one command at a time, so a test can act in the page, check the database,
//! and act again. Chromium is the system's (`PASSWRIGHT_TEST_CHROMIUM`, else `chromium` on the
//! PATH); without it, or without `npm ci --prefix tests/node`, the test says loudly that it
//! did not run (and fails where `PASSWRIGHT_TEST_REQUIRE` lists chromium, as in CI).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::helpers::skip;

/// How long one command may take before the test gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node")
}

/// The Chromium binary to test with, if there is one.
pub fn chromium_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PASSWRIGHT_TEST_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// What a browser is started with.
#[derive(Default)]
pub struct Launch {
    /// A `.y4m` file the fake camera plays.
    pub camera: Option<PathBuf>,
    /// Save downloads here.
    pub downloads: Option<PathBuf>,
    /// A host name that resolves to 127.0.0.1 (a shop's LAN address, as the browser sees it).
    pub host: Option<String>,
}

pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next: u64,
    /// Screenshots of this test: `target/tmp/browser/<test>/`, kept for a look afterwards.
    pub shots: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium, or says why not and returns `None`.
    pub async fn launch(test: &str, launch: Launch) -> Option<Browser> {
        let Some(binary) = chromium_binary() else {
            skip(
                test,
                "chromium",
                "install Chromium (apt-get install chromium) or set PASSWRIGHT_TEST_CHROMIUM",
            );
            return None;
        };
        if !node_dir().join("node_modules/puppeteer-core").exists() {
            skip(
                test,
                "chromium",
                "run `npm ci --prefix tests/node` (needs Node and the npm registry)",
            );
            return None;
        }
        let profile = tempfile::tempdir().unwrap();
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(test.replace("::", "-"));
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let mut command = Command::new("node");
        command
            .arg(node_dir().join("browser.mjs"))
            .env("PASSWRIGHT_BROWSER", &binary)
            .env("PASSWRIGHT_BROWSER_PROFILE", profile.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(camera) = &launch.camera {
            command.env("PASSWRIGHT_BROWSER_CAMERA", camera);
        }
        if let Some(host) = &launch.host {
            command.env("PASSWRIGHT_BROWSER_HOST", host);
        }
        if let Some(downloads) = &launch.downloads {
            command.env("PASSWRIGHT_BROWSER_DOWNLOADS", downloads);
        }
        let mut child = command.spawn().expect("start node");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(COMMAND_TIMEOUT, lines.next_line())
            .await
            .expect("Chromium starts within a minute")
            .unwrap()
            .unwrap_or_else(|| panic!("the browser driver exited before it was ready"));
        let ready: Value = serde_json::from_str(&ready).unwrap();
        assert_eq!(ready["ready"], true, "{ready}");
        Some(Browser {
            child,
            stdin,
            lines,
            next: 0,
            shots,
            _profile: profile,
        })
    }

    /// Runs one command; panics with what the page said when it fails.
    pub async fn run(&mut self, mut command: Value) -> Value {
        self.next += 1;
        command["id"] = json!(self.next);
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
        let answer = tokio::time::timeout(COMMAND_TIMEOUT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the browser did not answer {command}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the browser driver exited during {command}"));
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["id"], command["id"], "{answer}");
        if answer["ok"] != true {
            let shot = self.shots.join(format!("failed-{}.png", self.next));
            let _ = self
                .try_run(json!({"op": "screenshot", "path": shot}))
                .await;
            panic!(
                "browser: {command} failed: {}\n  at {}\n  console: {:#}\n  screenshot: {}",
                answer["error"],
                answer["url"],
                answer["console"],
                shot.display()
            );
        }
        answer["value"].clone()
    }

    /// A command whose failure is only reported, for the failure screenshot itself.
    async fn try_run(&mut self, mut command: Value) -> Option<Value> {
        self.next += 1;
        command["id"] = json!(self.next);
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .ok()?;
        let line = tokio::time::timeout(COMMAND_TIMEOUT, self.lines.next_line())
            .await
            .ok()?
            .ok()??;
        serde_json::from_str(&line).ok()
    }

    pub async fn goto(&mut self, url: &str) -> Value {
        self.run(json!({"op": "goto", "url": url})).await
    }

    /// A phone: 375 CSS pixels wide, touch.
    pub async fn phone(&mut self) {
        self.run(json!({"op": "viewport", "width": 375, "height": 812, "mobile": true}))
            .await;
    }

    /// The User-Agent the pages that follow are asked with (the landing pages read it).
    pub async fn user_agent(&mut self, ua: &str) {
        self.run(json!({"op": "user_agent", "ua": ua})).await;
    }

    pub async fn desktop(&mut self) {
        self.run(json!({"op": "viewport", "width": 1280, "height": 900, "mobile": false}))
            .await;
    }

    pub async fn fill(&mut self, selector: &str, value: &str) {
        self.run(json!({"op": "fill", "selector": selector, "value": value}))
            .await;
    }

    /// Types `text` into whatever has the focus, key by key.
    pub async fn keys(&mut self, text: &str) {
        self.run(json!({"op": "keys", "text": text})).await;
    }

    /// Presses one key ("Tab", "Enter").
    pub async fn press(&mut self, key: &str) {
        self.run(json!({"op": "press", "key": key})).await;
    }

    /// Clicks once the element is shown and enabled.
    pub async fn click(&mut self, selector: &str) {
        self.run(json!({"op": "click", "selector": selector})).await;
    }

    /// Waits until the script `expression` is true in the page.
    pub async fn wait_for(&mut self, expression: &str) {
        self.run(json!({"op": "wait_for", "expression": expression}))
            .await;
    }

    /// Chooses the file at `path` in the file input `selector`.
    pub async fn upload(&mut self, selector: &str, path: &Path) {
        self.run(json!({"op": "upload", "selector": selector, "path": path}))
            .await;
    }

    pub async fn select(&mut self, selector: &str, value: &str) {
        self.run(json!({"op": "select", "selector": selector, "value": value}))
            .await;
    }

    /// Waits until the element is shown; returns its text.
    pub async fn wait(&mut self, selector: &str) -> String {
        let v = self.run(json!({"op": "wait", "selector": selector})).await;
        v.as_str().unwrap().to_string()
    }

    /// Waits until the element is shown and its text contains `text`; returns the whole text.
    pub async fn wait_text(&mut self, selector: &str, text: &str) -> String {
        let v = self
            .run(json!({"op": "wait", "selector": selector, "text": text}))
            .await;
        v.as_str().unwrap().to_string()
    }

    /// Waits until the element is hidden or gone.
    pub async fn gone(&mut self, selector: &str) {
        self.run(json!({"op": "gone", "selector": selector})).await;
    }

    pub async fn text(&mut self, selector: &str) -> String {
        let v = self.run(json!({"op": "text", "selector": selector})).await;
        v.as_str().unwrap().to_string()
    }

    pub async fn attr(&mut self, selector: &str, name: &str) -> Option<String> {
        let v = self
            .run(json!({"op": "attr", "selector": selector, "name": name}))
            .await;
        v.as_str().map(str::to_string)
    }

    /// Evaluates a JavaScript expression in the page; its JSON value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        self.run(json!({"op": "eval", "expression": expression}))
            .await
    }

    /// Drops the answers (not the requests) of the next `count` requests matching `pattern`,
    /// as a connection lost after the server acted would.
    pub async fn fail_responses(&mut self, pattern: &str, count: u32) {
        self.run(json!({"op": "fail_responses", "pattern": pattern, "count": count}))
            .await;
    }

    /// A full-page PNG; asserts it is a real picture, not an empty file.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let path = self.shots.join(format!("{name}.png"));
        self.run(json!({"op": "screenshot", "path": path})).await;
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
        assert!(bytes.len() > 10_000, "{name}: {} bytes", bytes.len());
        path
    }

    /// Console errors, page errors and refused requests so far (a CSP violation is one).
    pub async fn errors(&mut self) -> Vec<String> {
        let logs = self.run(json!({"op": "console"})).await;
        logs.as_array()
            .unwrap()
            .iter()
            .filter(|l| l["type"] == "error" || l["type"] == "pageerror")
            .map(|l| l["text"].as_str().unwrap_or("").to_string())
            // Error answers the test provoked (422, 409, a dropped connection) are logged by
            // Chromium too; they are asserted on the page instead.
            .filter(|t| !t.starts_with("Failed to load resource"))
            .collect()
    }

    /// Closes Chromium and waits for the driver to end.
    pub async fn close(mut self) {
        let _ = self.stdin.shutdown().await;
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
    }
}
