//! Email over implicit TLS and STARTTLS: sent encrypted after AUTH to a relay whose root is
//! trusted through `email.ca_file`; an untrusted relay, or one not offering STARTTLS, gets
//! nothing (in the clear or otherwise) and the message waits for a retry.

use passwright::domain::distribution::MessageChannel;
use passwright::settings::{EmailMode, SmtpTls};
use secrecy::SecretString;
use serde_json::json;

use crate::fake_smtp::{FakeSmtp, FakeTls};
use crate::helpers::*;
use crate::messages::{clock, drain, enroll, queue, spawn_sending};

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
