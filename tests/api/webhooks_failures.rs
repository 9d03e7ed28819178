//! Endpoints that fail: a 410 Gone switches the endpoint off until the marketer switches it on
//! again; 5xx answers are retried after a backoff on the app's clock, the same event signed
//! anew each time, until it is accepted or given up.

use std::sync::Arc;

use passwright::clock::{Clock, ManualClock};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::webhook_receiver::WebhookReceiver;
use crate::webhooks::{drain, endpoint, metric, patch, verify};

both_engines!(a_410_switches_the_endpoint_off, |app: TestApp| async move {
    let receiver = WebhookReceiver::start().await;
    receiver.answer_always(410);
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let (id, _) = endpoint(&app, &program, &receiver.url("/gone"), json!(["*"])).await;
    let r = app
        .adjust(&member, "g-1", json!({"points": 5, "reason": "x"}))
        .await;
    assert_eq!(r.status, 201);
    drain(&app).await;
    assert_eq!(receiver.received().len(), 1);
    let path = format!("/api/v1/webhooks/{id}");
    let r = app.get(&path, &app.admin).await;
    assert_eq!(r.body["active"], false);
    assert!(
        r.body["disabled_reason"].as_str().unwrap().contains("410"),
        "{:?}",
        r.body
    );
    let r = app.get(&format!("{path}/deliveries"), &app.admin).await;
    let d = &r.body["deliveries"][0];
    assert_eq!((&d["state"], &d["attempts"]), (&json!("failed"), &json!(1)));
    assert!(d["last_error"].as_str().unwrap().contains("410"), "{d}");
    // Switched off: later changes are not sent to it.
    let r = app
        .adjust(&member, "g-2", json!({"points": 5, "reason": "x"}))
        .await;
    assert_eq!(r.status, 201);
    drain(&app).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(metric(&app.metrics().await, "gone"), "1");
    // Switched on again by the marketer, the reason is cleared.
    let r = patch(&app, &app.admin, &path, json!({"active": true})).await;
    assert_eq!(
        (&r.body["active"], &r.body["disabled_reason"]),
        (&json!(true), &Value::Null)
    );
});

/// Retries run on the app's clock: a test advances it past the backoff and drains again.
async fn retries(engine: Engine, test: &str) {
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    settings.outbox.retry_base_ms = 1_000;
    settings.outbox.max_attempts = 3;
    settings.webhooks.timeout_ms = 5_000;
    let clock = ManualClock::at(passwright::clock::system_now());
    let app = spawn_with_clock(settings, data_dir, Arc::new(clock.clone())).await;
    let flaky = WebhookReceiver::start().await;
    flaky.answer_next(500, 2);
    let down = WebhookReceiver::start().await;
    down.answer_always(503);
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let (flaky_id, secret) =
        endpoint(&app, &program, &flaky.url("/in"), json!(["points.changed"])).await;
    let (down_id, _) = endpoint(&app, &program, &down.url("/in"), json!(["points.changed"])).await;
    let r = app
        .adjust(&member, "r-1", json!({"points": 5, "reason": "x"}))
        .await;
    assert_eq!(r.status, 201);

    drain(&app).await;
    assert_eq!((flaky.received().len(), down.received().len()), (1, 1));
    assert_eq!(drain(&app).await, 0, "not due before the backoff");
    clock.advance(time::Duration::seconds(1));
    drain(&app).await;
    clock.advance(time::Duration::seconds(2));
    drain(&app).await;
    clock.advance(time::Duration::minutes(10));
    assert_eq!(drain(&app).await, 0, "nothing left to try");

    // The flaky endpoint got the same event three times, the same bytes, signed anew each
    // time with the clock's time; the third was accepted.
    let got = flaky.received();
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert!(got.iter().all(|r| r.body == got[0].body));
    assert!(got
        .iter()
        .all(|r| r.header("Passwright-Delivery") == got[0].header("Passwright-Delivery")));
    let times: Vec<i64> = got.iter().map(|r| verify(r, &secret)).collect();
    assert!(times[0] < times[1] && times[1] < times[2], "{times:?}");
    assert_eq!(times[2], clock.now().unix_timestamp() - 600);

    let deliveries = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &app.admin)
                .await
                .body["deliveries"][0]
                .clone()
        }
    };
    let d = deliveries(flaky_id).await;
    assert_eq!(
        (&d["state"], &d["attempts"]),
        (&json!("done"), &json!(3)),
        "{d}"
    );
    assert_eq!(d["last_error"], "HTTP 500");
    // The endpoint that never answered 2xx: three attempts, then failed with why.
    assert_eq!(down.received().len(), 3);
    let d = deliveries(down_id).await;
    assert_eq!(
        (&d["state"], &d["attempts"]),
        (&json!("failed"), &json!(3)),
        "{d}"
    );
    assert_eq!(d["last_error"], "gave up after 3 attempts: HTTP 503");
    let metrics = app.metrics().await;
    assert_eq!(metric(&metrics, "delivered"), "1");
    assert_eq!(metric(&metrics, "retried"), "4");
    assert_eq!(metric(&metrics, "gave_up"), "1");
}

both_engines!(failed_deliveries_are_retried, run = retries);
