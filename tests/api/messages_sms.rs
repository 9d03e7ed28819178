//! SMS through a Twilio stand-in: posted with the right fields and credentials, retried after
//! a 500 with the same message, and never posted when longer than `sms.max_segments`.

use passwright::domain::distribution::MessageChannel;
use passwright::settings::SmsMode;
use secrecy::SecretString;
use serde_json::json;

use crate::both_engines_named;
use crate::fake_sms::FakeSms;
use crate::helpers::*;
use crate::messages::{clock, drain, enroll, expiring, queue, sample, spawn_sending};

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
