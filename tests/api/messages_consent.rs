//! Consent checked at send time: a member who withdrew consent after a message was queued is
//! skipped (counted in /metrics), and the API lists their messages with how each ended and
//! their consent history, to marketers of their program only.

use passwright::domain::distribution::MessageChannel;
use serde_json::json;

use crate::both_engines_named;
use crate::helpers::*;
use crate::messages::{clock, drain, enroll, queue, sample, spawn_sending};

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
