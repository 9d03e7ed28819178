//! The landing pages in headless Chromium as an iPhone, an Android phone and a desktop: the
//! wallet buttons in each platform's order, the QR hand-off on the desktop, the enrollment
//! form's inline errors with what was typed kept, and a good form ending on the new member's
//! card page. What the pages say is checked against the database; no page logs an error (a
//! Content-Security-Policy violation would).

use serde_json::json;

use crate::both_engines;
use crate::chromium::{Browser, Launch};
use crate::helpers::*;
use crate::landing::{
    campaign, card_link, enroll_link, events, google_app, ANDROID, DESKTOP, IPHONE,
};

async fn button_ids(b: &mut Browser) -> serde_json::Value {
    b.eval("[...document.querySelectorAll('#wallet-buttons .wallet-button')].map(a => a.id)")
        .await
}

both_engines!(landing_pages_in_chromium, run = landing_in_chromium);

async fn landing_in_chromium(engine: Engine, test: &str) {
    let Some((app, _account)) = google_app(engine, test).await else {
        return;
    };
    let program = app.sample_program().await;
    let spring = campaign(&app, &program, "print").await;
    let link = enroll_link(
        &app,
        &program,
        json!({"campaign_id": spring, "channel": "print"}),
    )
    .await;
    let enroll = app.url(&format!("/c/{}", link["code"].as_str().unwrap()));
    let downloads = tempfile::tempdir().unwrap();
    let launch = Launch {
        downloads: Some(downloads.path().to_path_buf()),
        ..Launch::default()
    };
    let Some(mut b) = Browser::launch(&test.replace("::", "-"), launch).await else {
        return;
    };

    // An iPhone: a form with problems comes back with them, then a good one.
    b.user_agent(IPHONE).await;
    b.phone().await;
    b.goto(&enroll).await;
    assert_eq!(b.text("h1").await, "Join Test Beans");
    assert_eq!(b.eval("document.documentElement.lang").await, json!("en"));
    assert_eq!(
        b.eval("document.getElementById('consent_email').checked")
            .await,
        json!(false)
    );
    b.fill("#name", "Grace Hopper").await;
    b.fill("#email", "grace@").await;
    b.click("#consent_sms").await;
    b.click("#enroll-submit").await;
    b.wait("#error-summary").await;
    let email_error = b.text("#email-error").await;
    assert!(
        email_error.contains("Enter a valid e-mail address"),
        "{email_error}"
    );
    let sms_error = b.text("#consent_sms-error").await;
    assert!(sms_error.contains("enter your phone number"), "{sms_error}");
    assert_eq!(
        b.eval("document.getElementById('name').value").await,
        json!("Grace Hopper")
    );
    assert_eq!(
        b.eval("document.getElementById('email').value").await,
        json!("grace@")
    );
    assert_eq!(
        b.eval("document.getElementById('consent_sms').checked")
            .await,
        json!(true)
    );
    assert_eq!(
        b.attr("#email", "aria-invalid").await.as_deref(),
        Some("true")
    );
    b.screenshot("iphone-form-errors").await;
    assert_eq!(
        app.count("members").await,
        0,
        "nothing stored from a form with problems"
    );

    b.fill("#email", "grace@example.com").await;
    b.fill("#phone", "+44 7700 900123").await;
    b.click("#consent_email").await;
    b.click("#enroll-submit").await;
    b.wait("#wallet-buttons").await;
    assert_eq!(b.text("#member-name").await, "Grace Hopper");
    assert_eq!(b.text("#member-points").await, "0");
    assert_eq!(
        button_ids(&mut b).await,
        json!(["apple-wallet", "google-wallet"])
    );
    assert_eq!(b.text("#apple-wallet").await, "Add to Apple Wallet");
    assert_eq!(b.text("#google-wallet").await, "Save to Google Wallet");
    assert_eq!(
        b.eval("document.getElementById('handoff') === null").await,
        json!(true)
    );
    b.screenshot("iphone-card").await;
    let r = app
        .get(&format!("/api/v1/programs/{program}/members"), &app.admin)
        .await;
    let member = &r.body["members"][0];
    assert_eq!(member["name"], "Grace Hopper");
    assert_eq!(member["phone"], "+447700900123");
    assert_eq!(member["consent"], json!({"email": true, "sms": true}));
    let card_url: String = serde_json::from_value(b.eval("location.pathname").await).unwrap();
    let card = card_url.strip_prefix("/c/").unwrap().to_string();
    // Tapping "Add to Apple Wallet" hands over the pass (headless Chromium saves it).
    b.click("#apple-wallet").await;
    let mut saved = None;
    for _ in 0..100 {
        saved = std::fs::read_dir(downloads.path())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".pkpass"));
        if saved.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(saved.is_some(), "the pass was downloaded");
    let actions: Vec<_> = events(&app, &card)
        .await
        .into_iter()
        .map(|e| (e.0, e.1))
        .collect();
    assert!(
        actions.contains(&("apple_download".to_string(), "ios".to_string())),
        "{actions:?}"
    );

    // An Android phone: Google first.
    let other = app.member(&program, "Ada").await;
    let other_card = app.url(&format!("/c/{}", card_link(&app, &other).await));
    b.user_agent(ANDROID).await;
    b.phone().await;
    b.goto(&other_card).await;
    assert_eq!(
        button_ids(&mut b).await,
        json!(["google-wallet", "apple-wallet"])
    );
    let href = b.attr("#google-wallet", "href").await.unwrap();
    assert!(href.ends_with("/google"), "{href}");
    b.screenshot("android-card").await;

    // A desktop: a QR code to continue on a phone, the form's errors, then the card.
    b.user_agent(DESKTOP).await;
    b.desktop().await;
    b.goto(&enroll).await;
    b.wait("#handoff-qr svg").await;
    let side = b
        .eval("document.querySelector('#handoff-qr svg').getBoundingClientRect().width")
        .await;
    assert!(side.as_f64().unwrap() >= 150.0, "{side}");
    b.click("#enroll-submit").await;
    b.wait("#error-summary").await;
    assert!(b.text("#name-error").await.contains("Enter your name."));
    assert!(b
        .text("#email-error")
        .await
        .contains("Enter an e-mail address or a phone number"));
    b.screenshot("desktop-form-errors").await;
    b.fill("#name", "Katherine Johnson").await;
    b.fill("#phone", "+1 202 555 0143").await;
    b.click("#enroll-submit").await;
    b.wait("#wallet-buttons").await;
    assert_eq!(
        button_ids(&mut b).await,
        json!(["apple-wallet", "google-wallet"])
    );
    b.wait("#handoff-qr svg").await;
    b.screenshot("desktop-card").await;
    assert_eq!(app.count("members").await, 3);

    let errors = b.errors().await;
    assert!(errors.is_empty(), "the pages logged errors: {errors:?}");
    b.close().await;
}
