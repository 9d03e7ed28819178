//! Campaigns: audiences, preview, sending in batches with a personal link per member,
//! skipping members who cannot receive, automations once per window, CSV imports and list
//! audiences.

use std::sync::Arc;

use passwright::clock::{ManualClock, SharedClock};
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

use crate::both_engines;
use crate::helpers::*;

pub async fn app_with_clock(engine: Engine, test: &str) -> Option<(TestApp, ManualClock)> {
    let clock = ManualClock::at(
        passwright::clock::system_now()
            .replace_nanosecond(0)
            .unwrap(),
    );
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    // Small batches, so a send of a handful of members takes several steps.
    settings.outbox.campaign_batch = 2;
    let shared: SharedClock = Arc::new(clock.clone());
    Some((spawn_with_clock(settings, data_dir, shared).await, clock))
}

impl TestApp {
    pub async fn campaign(&self, program: &str, body: Value) -> String {
        let r = self
            .post(
                &format!("/api/v1/programs/{program}/campaigns"),
                &self.admin,
                body,
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn csv(&self, path: &str, method: Method, csv: &str) -> Reply {
        let resp = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.admin)
            .header("Content-Type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .unwrap();
        reply(resp).await
    }

    /// Runs the outbox until nothing is due.
    pub async fn deliver(&self) {
        self.state.outbox.drain().await.unwrap();
    }
}

fn email_member(name: &str, consent: bool) -> Value {
    json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()),
           "consent": {"email": consent}})
}

async fn one_off_send(engine: Engine, test: &str) {
    let Some((app, _clock)) = app_with_clock(engine, test).await else {
        return;
    };
    let program = app.sample_program().await;
    let mut consenting = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        let r = app.enroll(&program, email_member(name, true)).await;
        consenting.push(r.body["id"].as_str().unwrap().to_string());
    }
    app.enroll(&program, email_member("Dee", false)).await;
    let voided = app.enroll(&program, email_member("Eve", true)).await;
    let eve = voided.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/members/{eve}/void"),
        &app.admin,
        json!({}),
    )
    .await;
    let id = app
        .campaign(
            &program,
            json!({"name": "Spring invite", "channel": "email", "template": "card_invite",
                   "data": {"offer": "Double points all April"}}),
        )
        .await;

    // The preview counts the audience (voided cards are not in it) and who would be skipped.
    let preview = app
        .post(
            &format!("/api/v1/campaigns/{id}/preview"),
            &app.admin,
            json!({"member_id": consenting[0]}),
        )
        .await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    assert_eq!(preview.body["audience"], 4);
    assert_eq!(preview.body["would_skip"], 1);
    assert_eq!(preview.body["would_send"], 3);
    let sample = &preview.body["sample"];
    assert_eq!(sample["member"]["name"], "Ada");
    assert_eq!(sample["subject"], "Add your Test Beans card to your wallet");
    let text = sample["text"].as_str().unwrap();
    assert!(
        text.contains("Hello Ada") && text.contains("Double points all April"),
        "{text}"
    );
    assert!(sample["html"]
        .as_str()
        .unwrap()
        .contains("Double points all April"));
    assert_eq!(app.count("messages").await, 0, "a preview sends nothing");

    let sent = app
        .post(
            &format!("/api/v1/campaigns/{id}/send"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert_eq!(sent.body["status"], "sending");
    app.deliver().await;
    let done = app
        .get(&format!("/api/v1/campaigns/{id}"), &app.admin)
        .await;
    assert_eq!(done.body["status"], "sent", "{:?}", done.body);
    let p = &done.body["progress"];
    assert_eq!(
        p["queued"].as_i64().unwrap() + p["delivered"].as_i64().unwrap(),
        3,
        "{p:?}"
    );
    assert_eq!(p["skipped"], 1);
    assert_eq!(p["skipped_by_reason"]["no_consent"], 1);
    assert_eq!(done.body["funnel"]["sent"], 3);
    assert_eq!(done.body["funnel"]["skipped"], 1);
    // One message per member, each with its own personal link for this campaign.
    assert_eq!(app.count("messages").await, 4);
    let links = app
        .get(
            &format!("/api/v1/programs/{program}/links?campaign_id={id}"),
            &app.admin,
        )
        .await;
    if links.status == 200 {
        assert_eq!(links.body["links"].as_array().unwrap().len(), 4);
    }
    assert_eq!(app.count("links").await, 4);

    // Sending again is refused; nothing is added.
    let again = app
        .post(
            &format!("/api/v1/campaigns/{id}/send"),
            &app.admin,
            json!({}),
        )
        .await;
    again.assert_refused(409, "campaign_not_startable", None);
    assert_eq!(again.code(), "campaign_not_startable");
    app.deliver().await;
    assert_eq!(app.count("messages").await, 4);

    // Bad campaigns are refused with the field named, and nothing is stored.
    for (body, field) in [
        (json!({"name": "x", "channel": "email"}), "template"),
        (
            json!({"name": "x", "channel": "sms", "template": "welcome",
                   "audience": {"kind": "tier", "tier": "Platinum"}}),
            "audience.tier",
        ),
        (json!({"name": "x", "channel": "fax"}), "channel"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/programs/{program}/campaigns"),
                &app.admin,
                body,
            )
            .await;
        assert_eq!(r.status, 422, "{:?}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }
    let print = app
        .campaign(&program, json!({"name": "Poster", "channel": "print"}))
        .await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{print}/send"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "campaign_sends_nothing");
    // A staff key cannot see campaigns.
    let staff = app.create_key("staff", Some(&program)).await;
    assert_eq!(
        app.get(&format!("/api/v1/campaigns/{id}"), &staff)
            .await
            .status,
        403
    );
}

both_engines!(one_off_send, run = one_off_send);

/// Starts the automation runs that are due, then delivers; returns how many started.
async fn run(app: &TestApp, clock: &ManualClock) -> usize {
    let now = passwright::clock::Clock::now(clock);
    let n = app.state.store.run_due_automations(now).await.unwrap();
    app.deliver().await;
    n
}

async fn automation_once_per_window(engine: Engine, test: &str) {
    let Some((app, clock)) = app_with_clock(engine, test).await else {
        return;
    };
    let program = app.sample_program().await;
    let ada = app.enroll(&program, email_member("Ada", true)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id = app
        .campaign(
            &program,
            json!({"name": "We miss you", "channel": "email", "template": "we_miss_you",
                   "audience": {"kind": "inactive", "days": 30},
                   "automation": {"every_hours": 24, "window_days": 60}}),
        )
        .await;
    let started = app
        .post(
            &format!("/api/v1/campaigns/{id}/send"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(started.body["status"], "active", "{:?}", started.body);
    app.deliver().await;
    // Ada joined today: not inactive yet.
    assert_eq!(app.count("messages").await, 0);

    clock.advance(Duration::days(31));
    assert_eq!(run(&app, &clock).await, 1, "the automation was due");
    assert_eq!(app.count("messages").await, 1, "Ada is inactive now");
    let bob = app.enroll(&program, email_member("Bob", true)).await;
    assert_eq!(bob.status, 201);
    clock.advance(Duration::hours(1));
    assert_eq!(run(&app, &clock).await, 0, "not due again for a day");
    clock.advance(Duration::days(1));
    assert_eq!(run(&app, &clock).await, 1);
    assert_eq!(
        app.count("messages").await,
        1,
        "once per window; Bob is new"
    );

    // Paused: nothing runs; sending it again switches it back on.
    let paused = app
        .post(
            &format!("/api/v1/campaigns/{id}/pause"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(paused.body["status"], "paused");
    clock.advance(Duration::days(61));
    assert_eq!(run(&app, &clock).await, 0);
    assert_eq!(app.count("messages").await, 1);
    let resumed = app
        .post(
            &format!("/api/v1/campaigns/{id}/send"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(resumed.body["status"], "active");
    app.deliver().await;
    // The window has passed for Ada, and Bob has been inactive for 60 days.
    assert_eq!(app.count("messages").await, 3);
    assert_eq!(
        app.count("links").await,
        2,
        "Ada's second message carries her live link for this campaign, not a new one"
    );
    let ada_last = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
    assert_eq!(ada_last.status, 200);
}

both_engines!(automation_once_per_window, run = automation_once_per_window);

async fn csv_imports(engine: Engine, test: &str) {
    let Some((app, _clock)) = app_with_clock(engine, test).await else {
        return;
    };
    let program = app.sample_program().await;
    let existing = app
        .enroll(&program, json!({"name": "Old", "external_id": "c-9"}))
        .await;
    assert_eq!(existing.status, 201);
    let import = format!("/api/v1/programs/{program}/members/import");

    // A file with bad rows: every problem reported with its line; nothing written.
    let bad = "external_id,name,email,phone,consent_email\n\
               c-1,Ada,ada@example.com,,yes\n\
               c-2,,bob@example.com,,no\n\
               c-3,Cy,cy@example,,no\n\
               c-4,Dee,,12345,no\n\
               c-1,Eve,eve@example.com,,maybe\n";
    let r = app.csv(&import, Method::POST, bad).await;
    r.assert_refused(422, "csv_rejected", None);
    assert_eq!(r.body["error"]["code"], "csv_rejected");
    // Files far larger than the JSON limit are read whole (the route's own body limit).
    let mut big = String::from("external_id,name,email\n");
    for i in 0..8000 {
        big.push_str(&format!(
            "big-{i},Member number {i},member{i}@example.com\n"
        ));
    }
    big.push_str("big-x,,\n");
    assert!(big.len() > 300 * 1024);
    app.csv(&import, Method::POST, &big)
        .await
        .assert_refused(422, "csv_rejected", None);
    let rows: Vec<(i64, &str)> = r.body["error"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            (3, "name"),
            (4, "email"),
            (5, "phone"),
            (6, "consent_email"),
            (6, "external_id")
        ]
    );
    assert_eq!(app.count("members").await, 1);

    // An external id that already exists is reported too; still nothing written.
    let clash = "external_id,name\nc-1,Ada\nc-9,Again\n";
    let r = app.csv(&import, Method::POST, clash).await;
    r.assert_refused(422, "csv_rejected", None);
    assert_eq!(r.body["error"]["rows"][0]["row"], 3);
    assert_eq!(app.count("members").await, 1);
    assert_eq!(
        app.send(
            Method::POST,
            &import,
            Some(&app.admin),
            Some(&json!({})),
            &[]
        )
        .await
        .status,
        415
    );

    // A good file, into a list campaign that is sent right after.
    let id = app
        .campaign(
            &program,
            json!({"name": "Welcome imports", "channel": "email", "template": "welcome",
                   "audience": {"kind": "list"}}),
        )
        .await;
    let good = "external_id,name,email,consent_email\n\
                c-1,Ada,ada@example.com,yes\n\
                c-2,Bob,bob@example.com,no\n";
    let r = app
        .csv(
            &format!("{import}?campaign_id={id}&send=true"),
            Method::POST,
            good,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["imported"], 2);
    assert_eq!(r.body["campaign"]["status"], "sending");
    assert_eq!(app.count("members").await, 3);
    app.deliver().await;
    let c = app
        .get(&format!("/api/v1/campaigns/{id}"), &app.admin)
        .await;
    assert_eq!(c.body["status"], "sent");
    assert_eq!(c.body["funnel"]["sent"], 1, "{:?}", c.body);
    assert_eq!(c.body["progress"]["skipped_by_reason"]["no_consent"], 1);
    // Consent given in the file is in the member's history, marked as imported.
    let ada = app
        .get(
            &format!("/api/v1/programs/{program}/members?limit=10"),
            &app.admin,
        )
        .await;
    let ada_id = ada.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Ada")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let history = app
        .state
        .store
        .consent_history(&passwright::domain::ids::MemberId::parse(&ada_id).unwrap())
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].source.as_str(), history[0].granted),
        ("import", true)
    );

    // A list audience from a CSV of addresses: unknown ones are reported.
    let list = app
        .campaign(
            &program,
            json!({"name": "VIPs", "channel": "email", "template": "card_invite",
                   "audience": {"kind": "list"}}),
        )
        .await;
    let audience = format!("/api/v1/campaigns/{list}/audience");
    let r = app
        .csv(
            &audience,
            Method::PUT,
            "email\nada@example.com\nnobody@example.com\n",
        )
        .await;
    r.assert_refused(422, "csv_rejected", None);
    assert_eq!(r.body["error"]["rows"][0]["row"], 3);
    let r = app
        .csv(
            &audience,
            Method::PUT,
            "email\nADA@example.com\nbob@example.com\n",
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["members"], 2);
    let preview = app
        .post(
            &format!("/api/v1/campaigns/{list}/preview"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(preview.body["audience"], 2);
    assert_eq!(preview.body["would_skip"], 1);
}

both_engines!(csv_imports, run = csv_imports);

/// `passwright import members`: one bad row imports nothing and names the row; a good file
/// is imported whole.
#[tokio::test]
async fn cli_import_checks_every_row() {
    let data_dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, data_dir.path()).await.unwrap();
    let dir = data_dir.path().to_path_buf();
    let app = spawn_with(settings_for(&dir, &url), data_dir).await;
    let program = app.sample_program().await;
    let cli = |file: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_passwright"))
            .args(["import", "members", "--program", &program])
            .arg(file)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PASSWRIGHT__DATABASE__URL", &url)
            .env("PASSWRIGHT__DATA_DIR", &dir)
            .env("PASSWRIGHT__LOG__LEVEL", "error")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "name,email\nAda,ada@example.com\n,bob@example.com\n").unwrap();
    let (ok, text) = cli(&bad);
    assert!(!ok, "{text}");
    assert!(text.contains("row 3: name: must not be empty"), "{text}");
    assert!(text.contains("nothing was imported"), "{text}");
    assert_eq!(app.count("members").await, 0);
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "name,email\nAda,ada@example.com\nBob,bob@example.com\n",
    )
    .unwrap();
    let (ok, text) = cli(&good);
    assert!(ok, "{text}");
    assert!(
        text.contains("imported 2 members into Test Beans"),
        "{text}"
    );
    assert_eq!(app.count("members").await, 2);
}
