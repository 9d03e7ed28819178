//! Sending email and SMS on both engines: a stored message goes through the outbox to a real
//! SMTP server on loopback (AUTH, both parts, the unsubscribe headers), survives a temporary
//! 451 by retrying, and ends delivered; SMS reach a Twilio stand-in with the right fields,
//! are retried after a 500 and never posted when too long; members who withdrew consent
//! are skipped, counted in /metrics and listed with the reason by the API.

use std::sync::Arc;

use passwright::clock::{ManualClock, SharedClock};
use passwright::domain::distribution::MessageChannel;
use passwright::domain::ids::{MemberId, ProgramId};
use passwright::settings::{EmailMode, Settings, SmsMode, SmtpTls};
use passwright::storage::NewMessage;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::fake_sms::FakeSms;
use crate::fake_smtp::{FakeSmtp, FakeTls, Stage};
use crate::helpers::*;

/// Runs `$body(engine, test name)` on SQLite and on PostgreSQL (when configured), for tests
/// that build their app themselves (a pinned clock, settings pointing at local fakes).
#[macro_export]
macro_rules! both_engines_named {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(Engine::Sqlite, concat!(stringify!($name), "::sqlite")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(Engine::Postgres, concat!(stringify!($name), "::postgres")).await;
            }
        }
    };
}

/// An app on `engine` with a pinned clock and `adjust`ed settings; `None` when the engine is
/// not configured.
pub async fn spawn_sending(
    engine: Engine,
    test: &str,
    clock: &ManualClock,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    adjust(&mut settings);
    let shared: SharedClock = Arc::new(clock.clone());
    Some(spawn_with_clock(settings, data_dir, shared).await)
}

pub fn clock() -> ManualClock {
    ManualClock::at(
        passwright::clock::system_now()
            .replace_nanosecond(0)
            .unwrap(),
    )
}

/// Queues one message to `member` through the store, as campaigns and reminders do.
pub async fn queue(
    app: &TestApp,
    program: &str,
    member: &str,
    channel: MessageChannel,
    template: &str,
    data: Value,
    dedup: &str,
) -> i64 {
    let msg = NewMessage {
        program_id: ProgramId::parse(program).unwrap(),
        member_id: MemberId::parse(member).unwrap(),
        campaign_id: None,
        channel,
        template: template.into(),
        data,
        link_code: None,
        dedup: dedup.into(),
    };
    app.state
        .store
        .queue_message(&msg, app.state.clock.now())
        .await
        .unwrap()
        .expect("a new message")
}

pub async fn drain(app: &TestApp) -> usize {
    app.state.outbox.drain().await.unwrap()
}

/// The value of a sample in the /metrics text.
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in\n{metrics}"))
}

async fn enroll(app: &TestApp, program: &str, body: Value) -> String {
    let r = app.enroll(program, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn expiring() -> Value {
    json!({"points": 70, "expires_at": "2026-12-01T00:00:00Z"})
}

async fn email_through_smtp(engine: Engine, test: &str) {
    let smtp = FakeSmtp::start("mailer", "s3cret pass").await;
    let clock = clock();
    let port = smtp.port();
    let Some(app) = spawn_sending(engine, test, &clock, |s| {
        s.email.mode = EmailMode::Smtp;
        s.email.host = "127.0.0.1".into();
        s.email.port = port;
        s.email.tls = SmtpTls::None;
        s.email.username = Some("mailer".into());
        s.email.password = Some(SecretString::from("s3cret pass".to_string()));
        s.email.from_address = "cards@beans.example".into();
        s.email.from_name = "Test Beans".into();
        s.email.timeout_ms = 5_000;
        s.email.max_connections = 2;
    })
    .await
    else {
        return;
    };
    let program = app.sample_program().await;
    let ada = enroll(
        &app,
        &program,
        json!({"name": "Ada Lovelace", "email": "ada@example.com", "consent": {"email": true}}),
    )
    .await;
    let id = queue(
        &app,
        &program,
        &ada,
        MessageChannel::Email,
        "points_expiring",
        expiring(),
        "t1",
    )
    .await;

    // The relay answers 451 to DATA: nothing accepted, the message waits for its retry.
    smtp.fail_next(Stage::Data, 1);
    assert_eq!(drain(&app).await, 1);
    assert_eq!(smtp.attempts(), 1);
    assert!(smtp.messages().is_empty());
    let m = app.state.store.message(id).await.unwrap();
    assert_eq!(m.status, "queued");
    assert_eq!(drain(&app).await, 0, "not due before its backoff");

    clock.advance(time::Duration::minutes(5));
    assert_eq!(drain(&app).await, 1);
    assert_eq!(smtp.attempts(), 2);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "delivered once");
    let mail = &mails[0];
    assert_eq!(mail.user.as_deref(), Some("mailer"));
    assert_eq!(smtp.refused_auth(), 0);
    assert_eq!(mail.mail_from, "cards@beans.example");
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert_eq!(
        mail.header("From").as_deref(),
        Some("\"Test Beans\" <cards@beans.example>")
    );
    assert_eq!(
        mail.header("To").as_deref(),
        Some("\"Ada Lovelace\" <ada@example.com>")
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("70 Test Beans points expire on 2026-12-01")
    );
    let message_id = mail.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with(&format!("<passwright.{id}."))
            && message_id.ends_with("@beans.example>"),
        "{message_id}"
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = mail.header("List-Unsubscribe").unwrap();
    let unsubscribe = unsubscribe
        .strip_prefix('<')
        .and_then(|u| u.strip_suffix('>'))
        .unwrap();
    assert!(unsubscribe.starts_with(&app.url("/u/")), "{unsubscribe}");
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    let body = mail.decoded();
    assert!(
        body.contains("Content-Type: text/plain; charset=utf-8"),
        "{body}"
    );
    assert!(
        body.contains("Content-Type: text/html; charset=utf-8"),
        "{body}"
    );
    // Both parts carry the card link and the unsubscribe link.
    let card_link = app.url("/c/");
    assert!(body.matches(&card_link).count() >= 2, "{body}");
    assert!(body.matches(unsubscribe).count() >= 2, "{body}");
    assert!(body.contains("<strong>70</strong>"), "{body}");

    let m = app.state.store.message(id).await.unwrap();
    assert_eq!(m.status, "delivered");
    assert_eq!(m.reason, None);
    assert!(
        m.provider_ref
            .as_deref()
            .unwrap()
            .contains("queued as FAKE1"),
        "{:?}",
        m.provider_ref
    );
    // The link is the member's personal card link, kept for attribution.
    let links = app.count("links").await;
    assert_eq!(links, 1);

    // Delivered once: draining again sends nothing.
    assert_eq!(drain(&app).await, 0);
    assert_eq!(smtp.messages().len(), 1);
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"email\",outcome=\"delivered\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"email\",outcome=\"retried\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"email\",outcome=\"failed\"}"
        ),
        0.0
    );

    // A greylisting relay (451 to RCPT TO) is retried the same way.
    smtp.fail_next(Stage::Rcpt, 1);
    let second = queue(
        &app,
        &program,
        &ada,
        MessageChannel::Email,
        "welcome",
        json!({}),
        "t2",
    )
    .await;
    drain(&app).await;
    assert_eq!(
        app.state.store.message(second).await.unwrap().status,
        "queued"
    );
    clock.advance(time::Duration::minutes(5));
    drain(&app).await;
    assert_eq!(
        app.state.store.message(second).await.unwrap().status,
        "delivered"
    );
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    assert_eq!(
        mails[1].header("Subject").as_deref(),
        Some("Welcome to Test Beans")
    );

    // A permanent refusal (550) is final: failed with the relay's answer, not retried.
    smtp.reject_next(1);
    let third = queue(
        &app,
        &program,
        &ada,
        MessageChannel::Email,
        "we_miss_you",
        json!({}),
        "t3",
    )
    .await;
    let attempts = smtp.attempts();
    drain(&app).await;
    clock.advance(time::Duration::hours(2));
    drain(&app).await;
    assert_eq!(smtp.attempts(), attempts + 1, "tried once");
    assert_eq!(smtp.messages().len(), 2);
    let m = app.state.store.message(third).await.unwrap();
    assert_eq!(m.status, "failed");
    let reason = m.reason.unwrap();
    assert!(
        reason.contains("550") && reason.contains("Mailbox unavailable"),
        "{reason}"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"email\",outcome=\"failed\"}"
        ),
        1.0
    );

    // Many messages at once share email.max_connections (2) connections, kept open and
    // reused: never more open at once, and no new connection per message.
    let opened = smtp.connections();
    let mut ids = Vec::new();
    for i in 0..12 {
        let member = enroll(
            &app,
            &program,
            json!({"name": format!("Reader {i}"), "email": format!("reader{i}@example.com"),
                   "consent": {"email": true}}),
        )
        .await;
        ids.push(
            queue(
                &app,
                &program,
                &member,
                MessageChannel::Email,
                "welcome",
                json!({}),
                &format!("t4-{i}"),
            )
            .await,
        );
    }
    assert_eq!(drain(&app).await, 12);
    for id in ids {
        assert_eq!(
            app.state.store.message(id).await.unwrap().status,
            "delivered"
        );
    }
    assert_eq!(smtp.messages().len(), 14);
    assert!(
        smtp.peak_connections() <= 2,
        "{} connections open at once",
        smtp.peak_connections()
    );
    assert!(
        smtp.connections() - opened <= 2,
        "{} new connections for 12 messages",
        smtp.connections() - opened
    );
}

both_engines_named!(
    email_is_sent_through_smtp_and_retried_after_451,
    email_through_smtp
);

/// An app on SQLite whose email goes to `smtp` with `tls`, trusting the stand-in's root
/// through `email.ca_file`.
async fn tls_app(
    test: &str,
    smtp: &FakeSmtp,
    tls: SmtpTls,
    ca: Option<&std::path::Path>,
) -> TestApp {
    let port = smtp.port();
    spawn_sending(Engine::Sqlite, test, &clock(), |s| {
        s.email.mode = EmailMode::Smtp;
        s.email.host = "127.0.0.1".into();
        s.email.port = port;
        s.email.tls = tls;
        s.email.ca_file = ca.map(std::path::Path::to_path_buf);
        s.email.username = Some("mailer".into());
        s.email.password = Some(SecretString::from("s3cret pass".to_string()));
        s.email.from_address = "cards@beans.example".into();
        s.email.timeout_ms = 5_000;
    })
    .await
    .expect("SQLite is always there")
}

/// Enrolls Ada (email, consenting) in a new program of `app` and queues her a welcome email.
async fn welcome_ada(app: &TestApp, dedup: &str) -> i64 {
    let program = app.sample_program().await;
    let ada = enroll(
        app,
        &program,
        json!({"name": "Ada", "email": "ada@example.com", "consent": {"email": true}}),
    )
    .await;
    queue(
        app,
        &program,
        &ada,
        MessageChannel::Email,
        "welcome",
        json!({}),
        dedup,
    )
    .await
}

/// The last error of the one pending job.
async fn pending_error(app: &TestApp) -> String {
    let jobs = app.state.store.jobs_in_state("pending", 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs[0].last_error.clone().unwrap_or_default()
}

/// Implicit TLS and STARTTLS: the message arrives encrypted, after AUTH, with the relay's
/// certificate checked against `email.ca_file`; a relay that does not offer STARTTLS gets
/// nothing in the clear, and the message waits for a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_over_tls_and_starttls() {
    for (fake, tls) in [
        (FakeTls::Implicit, SmtpTls::Tls),
        (FakeTls::StartTls, SmtpTls::Starttls),
    ] {
        let smtp = FakeSmtp::start_with("mailer", "s3cret pass", fake).await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("relay-ca.pem");
        std::fs::write(&ca, smtp.ca().to_pem().unwrap()).unwrap();
        let app = tls_app(&format!("email_over_{fake:?}"), &smtp, tls, Some(&ca)).await;
        let id = welcome_ada(&app, "tls").await;
        assert_eq!(drain(&app).await, 1);
        let m = app.state.store.message(id).await.unwrap();
        assert_eq!(m.status, "delivered", "{fake:?}: {:?}", m.reason);
        let mails = smtp.messages();
        assert_eq!(mails.len(), 1, "{fake:?}");
        assert!(mails[0].tls, "{fake:?}: sent over TLS");
        assert_eq!(mails[0].user.as_deref(), Some("mailer"));
        assert_eq!(mails[0].rcpt_to, ["ada@example.com"]);
    }

    // Without the relay's root the certificate is not trusted: nothing is sent, the message
    // waits for a retry.
    let smtp = FakeSmtp::start_with("mailer", "s3cret pass", FakeTls::Implicit).await;
    let app = tls_app("email_tls_untrusted", &smtp, SmtpTls::Tls, None).await;
    let id = welcome_ada(&app, "u").await;
    drain(&app).await;
    assert_eq!(app.state.store.message(id).await.unwrap().status, "queued");
    assert!(smtp.messages().is_empty());
    let error = pending_error(&app).await;
    assert!(error.contains("TLS handshake"), "{error}");

    // A relay that does not offer STARTTLS: no AUTH or MAIL in the clear.
    let smtp = FakeSmtp::start("mailer", "s3cret pass").await;
    let app = tls_app("email_starttls_missing", &smtp, SmtpTls::Starttls, None).await;
    let id = welcome_ada(&app, "v").await;
    drain(&app).await;
    assert_eq!(app.state.store.message(id).await.unwrap().status, "queued");
    assert_eq!(smtp.attempts(), 0, "no MAIL FROM in the clear");
    assert_eq!(smtp.auths(), 0, "no AUTH in the clear");
    let error = pending_error(&app).await;
    assert!(error.contains("does not offer STARTTLS"), "{error}");
}

async fn sms_through_provider(engine: Engine, test: &str) {
    let provider = FakeSms::start().await;
    let clock = clock();
    let base = provider.base_url();
    let Some(app) = spawn_sending(engine, test, &clock, |s| {
        s.sms.mode = SmsMode::Twilio;
        s.sms.base_url = base;
        s.sms.account_sid = "AC0123456789".into();
        s.sms.auth_token = Some(SecretString::from("tok-secret".to_string()));
        s.sms.from = Some("+15005550006".into());
        s.sms.max_segments = 2;
    })
    .await
    else {
        return;
    };
    let program = app.sample_program().await;
    let bob = enroll(
        &app,
        &program,
        json!({"name": "Bob", "phone": "+4915112345678", "consent": {"sms": true}}),
    )
    .await;
    let id = queue(
        &app,
        &program,
        &bob,
        MessageChannel::Sms,
        "points_expiring",
        expiring(),
        "s1",
    )
    .await;
    provider.answer_next(500, 1);
    drain(&app).await;
    assert_eq!(provider.requests().len(), 1);
    assert_eq!(app.state.store.message(id).await.unwrap().status, "queued");
    clock.advance(time::Duration::minutes(5));
    drain(&app).await;
    let requests = provider.requests();
    assert_eq!(requests.len(), 2, "retried once after the 500");
    let r = &requests[1];
    assert_eq!(r.status, 201);
    assert_eq!(r.path, "/2010-04-01/Accounts/AC0123456789/Messages.json");
    assert_eq!(
        (r.user.as_str(), r.password.as_str()),
        ("AC0123456789", "tok-secret")
    );
    assert_eq!(r.form["To"], "+4915112345678");
    assert_eq!(r.form["From"], "+15005550006");
    assert!(!r.form.contains_key("MessagingServiceSid"));
    let body = &r.form["Body"];
    assert!(
        body.starts_with("70 of your points expire on 2026-12-01."),
        "{body}"
    );
    assert!(body.contains(&app.url("/c/")), "{body}");
    assert!(
        body.ends_with("Test Beans. Reply STOP to opt out"),
        "{body}"
    );
    assert_eq!(requests[0].form, r.form, "the retry sends the same message");
    let m = app.state.store.message(id).await.unwrap();
    assert_eq!(m.status, "delivered");
    assert_eq!(m.provider_ref, r.sid);

    // Over max_segments (2): failed as too long, never posted.
    let long = queue(
        &app,
        &program,
        &bob,
        MessageChannel::Sms,
        "we_miss_you",
        json!({"offer": "Two coffees for one all week long. ".repeat(10)}),
        "s2",
    )
    .await;
    drain(&app).await;
    assert_eq!(provider.requests().len(), 2, "nothing posted");
    let m = app.state.store.message(long).await.unwrap();
    assert_eq!(
        (m.status.as_str(), m.reason.as_deref()),
        ("failed", Some("too_long"))
    );
    let failed = app.state.store.jobs_in_state("failed", 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    let note = failed[0].last_error.as_deref().unwrap();
    assert!(
        note.starts_with("too_long: 4 segments (gsm7), at most 2"),
        "{note}"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"sms\",outcome=\"delivered\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"sms\",outcome=\"retried\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"sms\",outcome=\"failed\"}"
        ),
        1.0
    );
}

both_engines_named!(
    sms_are_posted_to_the_provider_retried_and_length_checked,
    sms_through_provider
);

async fn consent_is_checked_at_send_time(engine: Engine, test: &str) {
    let clock = clock();
    let Some(app) = spawn_sending(engine, test, &clock, |_| {}).await else {
        return;
    };
    let program = app.sample_program().await;
    let cy = enroll(
        &app,
        &program,
        json!({"name": "Cy", "email": "cy@example.com", "phone": "+4915100000001", "consent": {"email": true, "sms": true}}),
    )
    .await;
    let email = queue(
        &app,
        &program,
        &cy,
        MessageChannel::Email,
        "welcome",
        json!({}),
        "c1",
    )
    .await;
    let sms = queue(
        &app,
        &program,
        &cy,
        MessageChannel::Sms,
        "welcome",
        json!({}),
        "c2",
    )
    .await;
    // Consent withdrawn through the API after the messages were queued.
    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{cy}"),
            Some(&app.admin),
            Some(&json!({"consent": {"email": false}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    drain(&app).await;
    let m = app.state.store.message(email).await.unwrap();
    assert_eq!(
        (m.status.as_str(), m.reason.as_deref()),
        ("skipped", Some("no_consent"))
    );
    // The SMS still had consent: written to the development folder.
    let m = app.state.store.message(sms).await.unwrap();
    assert_eq!(m.status, "delivered");
    let file = app.data_dir.path().join("sms").join(format!("{sms}.txt"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("To: +4915100000001\n\nWelcome to Test Beans!"),
        "{text}"
    );
    assert!(!app
        .data_dir
        .path()
        .join("mail")
        .join(format!("{email}.eml"))
        .exists());
    let metrics = app.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"email\",outcome=\"skipped\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "passwright_messages_total{channel=\"sms\",outcome=\"delivered\"}"
        ),
        1.0
    );

    // The API lists both, newest first, with how each ended.
    let r = app
        .get(&format!("/api/v1/members/{cy}/messages"), &app.admin)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let list = r.body["messages"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], sms);
    assert_eq!(list[0]["channel"], "sms");
    assert_eq!(list[0]["status"], "delivered");
    assert_eq!(list[1]["id"], email);
    assert_eq!(list[1]["template"], "welcome");
    assert_eq!(list[1]["status"], "skipped");
    assert_eq!(list[1]["reason"], "no_consent");
    assert!(list[1]["campaign_id"].is_null());
    // Consent: the current flags and the history with the API change.
    let r = app
        .get(&format!("/api/v1/members/{cy}/consent"), &app.admin)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["current"], json!({"email": false, "sms": true}));
    let history = r.body["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (&last["channel"], &last["granted"], &last["source"]),
        (&json!("email"), &json!(false), &json!("api"))
    );
    // Staff cannot read either.
    let staff = app.create_key("staff", None).await;
    assert_eq!(
        app.get(&format!("/api/v1/members/{cy}/consent"), &staff)
            .await
            .status,
        403
    );
    assert_eq!(
        app.get(&format!("/api/v1/members/{cy}/messages"), &staff)
            .await
            .status,
        403
    );
    // A marketer of another program does not see the member.
    let other = app.sample_program().await;
    let marketer = app.create_key("marketer", Some(&other)).await;
    let r = app
        .get(&format!("/api/v1/members/{cy}/consent"), &marketer)
        .await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{:?}", r.status);
}

both_engines_named!(
    consent_is_checked_when_sending,
    consent_is_checked_at_send_time
);
