//! Unsubscribing on both engines: the link in an email (written to the development folder)
//! opens a confirmation page that changes nothing; confirming withdraws consent and says so;
//! the consent history shows where it came from; the next messages are skipped as
//! `unsubscribed`; a mail client's one-click POST works; a tampered token is a 404 page.

use passwright::domain::distribution::MessageChannel;
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::messages::{drain, queue};

async fn post_form(app: &TestApp, url: &str, body: &str) -> (u16, String) {
    let r = app
        .client
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn consent(app: &TestApp, member: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/members/{member}/consent"), &app.admin)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

both_engines!(unsubscribe_link_and_one_click, |app: TestApp| async move {
    let program = app.sample_program().await;
    let r = app
        .enroll(
            &program,
            json!({"name": "Dee", "email": "dee@example.com", "consent": {"email": true}}),
        )
        .await;
    let dee = r.body["id"].as_str().unwrap().to_string();
    let first = queue(
        &app,
        &program,
        &dee,
        MessageChannel::Email,
        "card_invite",
        json!({"offer": "A free coffee"}),
        "u1",
    )
    .await;
    drain(&app).await;
    // Folder mode (the default): the email is a file, with the unsubscribe header.
    let eml = app
        .data_dir
        .path()
        .join("mail")
        .join(format!("{first}.eml"));
    let raw = std::fs::read_to_string(&eml).unwrap();
    assert!(
        raw.contains("Subject: Add your Test Beans card to your wallet"),
        "{raw}"
    );
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    let url = raw
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
        .and_then(|l| l.strip_suffix('>'))
        .unwrap()
        .to_string();
    assert!(url.starts_with(&app.url("/u/")), "{url}");
    let m = app.state.store.message(first).await.unwrap();
    assert_eq!(m.status, "delivered");
    assert_eq!(m.provider_ref, Some(format!("file:{}", eml.display())));

    // A message queued now is sent after she unsubscribes: it must be skipped then.
    let pending = queue(
        &app,
        &program,
        &dee,
        MessageChannel::Email,
        "welcome",
        json!({}),
        "u2",
    )
    .await;

    // GET asks, and changes nothing (mail scanners open links).
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("style-src 'nonce-") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Unsubscribe from Test Beans emails?"),
        "{page}"
    );
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(!page.contains("<script"), "works without JavaScript");
    let c = consent(&app, &dee).await;
    assert_eq!(c["current"]["email"], true);
    assert_eq!(c["history"].as_array().unwrap().len(), 1);

    // The form's POST unsubscribes.
    let (status, page) = post_form(&app, &url, "confirm=yes").await;
    assert_eq!(status, 200);
    assert!(page.contains("You are unsubscribed"), "{page}");
    assert!(
        page.contains("You will no longer receive emails from Test Beans"),
        "{page}"
    );
    let c = consent(&app, &dee).await;
    assert_eq!(c["current"], json!({"email": false, "sms": false}));
    let history = c["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["channel"], "email");
    assert_eq!(history[1]["granted"], false);
    assert_eq!(history[1]["source"], "unsubscribe_link");

    // The queued message is skipped when its turn comes, and so is a new one.
    drain(&app).await;
    let m = app.state.store.message(pending).await.unwrap();
    assert_eq!(
        (m.status.as_str(), m.reason.as_deref()),
        ("skipped", Some("unsubscribed"))
    );
    let later = queue(
        &app,
        &program,
        &dee,
        MessageChannel::Email,
        "we_miss_you",
        json!({}),
        "u3",
    )
    .await;
    let m = app.state.store.message(later).await.unwrap();
    assert_eq!(
        (m.status.as_str(), m.reason.as_deref()),
        ("skipped", Some("unsubscribed"))
    );
    assert!(!app
        .data_dir
        .path()
        .join("mail")
        .join(format!("{pending}.eml"))
        .exists());
    let metrics = app.metrics().await;
    assert_eq!(
        crate::messages::sample(
            &metrics,
            "passwright_messages_total{channel=\"email\",outcome=\"skipped\"}"
        ),
        1.0
    );

    // She opts in again; a mail client's one-click unsubscribe (RFC 8058) takes her out.
    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{dee}"),
            Some(&app.admin),
            Some(&json!({"consent": {"email": true}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (status, _) = post_form(&app, &url, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200);
    let c = consent(&app, &dee).await;
    assert_eq!(c["current"]["email"], false);
    let sources: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["enrollment", "unsubscribe_link", "api", "list_unsubscribe"]
    );

    // A tampered token is a clear 404 page, and unsubscribes nobody.
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/members/{dee}"),
        Some(&app.admin),
        Some(&json!({"consent": {"email": true}})),
        &[],
    )
    .await;
    let last = url.chars().last().unwrap();
    let tampered = format!(
        "{}{}",
        &url[..url.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    let r = app.client.get(&tampered).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This unsubscribe link is not valid"));
    let (status, page) = post_form(&app, &tampered, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 404);
    assert!(page.contains("not valid"));
    let sms_token = url.replace(".email.", ".sms.");
    assert_eq!(post_form(&app, &sms_token, "confirm=yes").await.0, 404);
    assert_eq!(consent(&app, &dee).await["current"]["email"], true);
});
