//! Email through SMTP: a stored message goes through the outbox to a real SMTP server on
//! loopback (AUTH, both parts, the unsubscribe headers), survives a temporary 451 by retrying,
//! ends delivered once, fails for good on a 550, and many messages share a few connections.

use passwright::domain::distribution::MessageChannel;
use passwright::settings::{EmailMode, SmtpTls};
use secrecy::SecretString;
use serde_json::json;

use crate::both_engines_named;
use crate::fake_smtp::{FakeSmtp, Stage};
use crate::helpers::*;
use crate::messages::{clock, drain, enroll, expiring, queue, sample, spawn_sending};

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
