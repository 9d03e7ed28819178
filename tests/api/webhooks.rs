//! Outgoing webhooks on both engines: endpoints managed through the API (validated, scoped to
//! the key's program), events emitted with the change that caused them, delivered through the
//! outbox to a local receiver with a signature the test checks on its own, retried after
//! failures, an endpoint switched off by 410 Gone, and card installs recorded for reports.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use passwright::clock::{Clock, ManualClock};
use passwright::domain::apple_ids::PassTypeId;
use passwright::domain::device::PushToken;
use passwright::domain::ids::{MemberId, ProgramId, WebhookId};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::both_engines;
use crate::device::{install, push_token, Device};
use crate::helpers::*;
use crate::webhook_receiver::{Received, WebhookReceiver};

async fn drain(app: &TestApp) -> usize {
    app.state.outbox.drain().await.unwrap()
}

/// Creates an endpoint for `program` taking `events`; returns (id, secret).
async fn endpoint(app: &TestApp, program: &str, url: &str, events: Value) -> (String, String) {
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/webhooks"),
            &app.admin,
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["secret"].as_str().unwrap().to_string(),
    )
}

async fn patch(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    app.send(Method::PATCH, path, Some(key), Some(&body), &[])
        .await
}

/// Checks `Passwright-Signature` the way a receiver would, with its own HMAC: the timestamp
/// and the raw body under the endpoint's secret. Returns the timestamp.
fn verify(r: &Received, secret: &str) -> i64 {
    let header = r.header("Passwright-Signature").expect("signature header");
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("malformed signature header {header}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    assert_eq!(
        v1,
        hex::encode(mac.finalize().into_bytes()),
        "signature does not verify"
    );
    t.parse().unwrap()
}

/// The headers every delivery carries, matching its body.
fn check_envelope(r: &Received, program: &str) -> Value {
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(
        r.header("User-Agent"),
        Some(concat!("passwright/", env!("CARGO_PKG_VERSION")))
    );
    let body = r.json();
    assert_eq!(r.header("Passwright-Event"), body["type"].as_str());
    assert_eq!(r.header("Passwright-Delivery"), body["id"].as_str());
    assert!(body["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(body["program_id"], program);
    assert!(time::OffsetDateTime::parse(
        body["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    body
}

fn metric(metrics: &str, outcome: &str) -> String {
    let prefix = format!("passwright_webhook_deliveries_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {metrics}"))
        .to_string()
}

both_engines!(
    endpoints_are_managed_validated_and_scoped,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        let hooks = format!("/api/v1/programs/{program}/webhooks");
        let r = app
            .post(
                &hooks,
                &app.admin,
                json!({
                    "url": "https://hooks.example.com/passwright?t=1",
                    "events": ["points.changed", "card.installed", "points.changed"],
                    "description": "CRM sync"
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let secret = r.body["secret"].as_str().unwrap().to_string();
        assert!(
            secret.starts_with("whsec_") && secret.len() > 30,
            "{secret}"
        );
        assert_eq!(
            r.body["events"],
            json!(["points.changed", "card.installed"])
        );
        assert_eq!(r.body["active"], true);
        assert_eq!(r.body["disabled_reason"], Value::Null);
        // Without events: all of them.
        let r = app
            .post(&hooks, &app.admin, json!({"url": "http://127.0.0.1:9/x"}))
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(r.body["events"], json!(["*"]));

        // The secret is shown once: never in reads.
        let list = app.get(&hooks, &app.admin).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["webhooks"].as_array().unwrap().len(), 2);
        assert!(
            !list.bytes.windows(6).any(|w| w == b"whsec_"),
            "{}",
            list.body
        );
        let one = app.get(&format!("/api/v1/webhooks/{id}"), &app.admin).await;
        assert_eq!(one.body["description"], "CRM sync");
        assert!(one.body.get("secret").is_none());

        // Validation: 422 with the field.
        for (body, field) in [
            (json!({"url": "ftp://example.com/"}), "url"),
            (json!({"url": "https://u:p@example.com/"}), "url"),
            (json!({"url": "nope"}), "url"),
            (json!({"url": "https://e.com/", "events": []}), "events"),
            (
                json!({"url": "https://e.com/", "events": ["points.changed", "scan.done"]}),
                "events[1]",
            ),
            (
                json!({"url": "https://e.com/", "description": " "}),
                "description",
            ),
        ] {
            let r = app.post(&hooks, &app.admin, body.clone()).await;
            assert_eq!(
                (
                    r.status.as_u16(),
                    r.code(),
                    r.body["error"]["field"].as_str()
                ),
                (422, "validation_failed", Some(field)),
                "{body}: {:?}",
                r.body
            );
        }
        let r = app
            .post(
                &hooks,
                &app.admin,
                json!({"url": "https://e.com/", "secret": "x"}),
            )
            .await;
        assert_eq!(r.code(), "invalid_body");
        assert_eq!(
            app.count("webhook_endpoints").await,
            2,
            "refusals wrote nothing"
        );

        // PATCH: events, state, description; re-enabling clears passwright's reason.
        let path = format!("/api/v1/webhooks/{id}");
        let r = patch(
            &app,
            &app.admin,
            &path,
            json!({"events": ["*"], "active": false, "description": null}),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(
            (&r.body["events"], &r.body["active"], &r.body["description"]),
            (&json!(["*"]), &json!(false), &Value::Null)
        );
        let wid = WebhookId::parse(&id).unwrap();
        app.state
            .store
            .disable_webhook(&wid, "410 Gone", passwright::clock::system_now())
            .await
            .unwrap();
        let r = app.get(&path, &app.admin).await;
        assert_eq!(r.body["disabled_reason"], "410 Gone");
        let r = patch(
            &app,
            &app.admin,
            &path,
            json!({"active": true, "url": "https://new.example.com/in"}),
        )
        .await;
        assert_eq!(
            (
                &r.body["active"],
                &r.body["disabled_reason"],
                &r.body["url"]
            ),
            (
                &json!(true),
                &Value::Null,
                &json!("https://new.example.com/in")
            )
        );
        let r = patch(&app, &app.admin, &path, json!({"events": ["nope"]})).await;
        assert_eq!(r.body["error"]["field"], "events[0]");

        // A new secret, shown once.
        let r = app
            .post(&format!("{path}/rotate-secret"), &app.admin, json!({}))
            .await;
        assert_eq!(r.status, 200);
        let rotated = r.body["secret"].as_str().unwrap();
        assert!(rotated.starts_with("whsec_"));
        assert_ne!(rotated, secret);

        // Scope: keys of another program, and staff, are refused; the program's marketer is not.
        let outsider = app.create_key("marketer", Some(&other)).await;
        let staff = app.create_key("staff", Some(&program)).await;
        let marketer = app.create_key("marketer", Some(&program)).await;
        for key in [&outsider, &staff] {
            app.get(&path, key)
                .await
                .assert_refused(403, "forbidden", None);
            app.get(&hooks, key)
                .await
                .assert_refused(403, "forbidden", None);
            assert_eq!(
                app.post(&hooks, key, json!({"url": "https://e.com/"}))
                    .await
                    .status,
                403
            );
            assert_eq!(
                patch(&app, key, &path, json!({"active": false}))
                    .await
                    .status,
                403
            );
            assert_eq!(
                app.send(Method::DELETE, &path, Some(key), None, &[])
                    .await
                    .status,
                403
            );
            assert_eq!(
                app.get(&format!("{path}/deliveries"), key).await.status,
                403
            );
        }
        assert_eq!(app.get(&path, &marketer).await.status, 200);
        assert_eq!(
            app.get(&format!("{path}/deliveries?limit=0"), &marketer)
                .await
                .body["error"]["field"],
            "limit"
        );

        // Delete: gone for good; unknown and malformed ids are 404.
        let r = app
            .send(Method::DELETE, &path, Some(&marketer), None, &[])
            .await;
        assert_eq!(r.status, 204);
        app.get(&path, &app.admin)
            .await
            .assert_refused(404, "not_found", None);
        assert_eq!(
            app.get("/api/v1/webhooks/whk_x", &app.admin).await.status,
            404
        );
        assert_eq!(app.count("webhook_endpoints").await, 1);
    }
);

both_engines!(
    points_changes_reach_the_endpoint_signed,
    |app: TestApp| async move {
        let receiver = WebhookReceiver::start().await;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let (id, secret) = endpoint(
            &app,
            &program,
            &receiver.url("/hooks/passwright"),
            json!(["points.changed", "member.tier_changed"]),
        )
        .await;
        // 4.00 of coffee: 8 points, still Bronze. Then 60.00: 120 more, Silver.
        let r = app
            .earn(
                &member,
                &app.admin,
                "w-1",
                json!({"amount": "4.00", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let r = app
            .earn(
                &member,
                &app.admin,
                "w-2",
                json!({"amount": "60.00", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.body["tier_changed"], true);
        // A replay changes nothing and sends nothing.
        let r = app
            .earn(
                &member,
                &app.admin,
                "w-2",
                json!({"amount": "60.00", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(app.count("webhook_events").await, 3);
        drain(&app).await;

        let got = receiver.received();
        assert_eq!(got.len(), 3, "{got:?}");
        let now = passwright::clock::system_now().unix_timestamp();
        let mut types = Vec::new();
        for r in &got {
            assert_eq!(r.path, "/hooks/passwright");
            let t = verify(r, &secret);
            assert!((now - t).abs() < 300, "timestamp {t} is not now ({now})");
            let body = check_envelope(r, &program);
            assert_eq!(body["data"]["member"]["id"], member.as_str());
            types.push(body["type"].as_str().unwrap().to_string());
        }
        types.sort();
        assert_eq!(
            types,
            ["member.tier_changed", "points.changed", "points.changed"]
        );
        let bodies: Vec<Value> = got.iter().map(Received::json).collect();
        let first = bodies
            .iter()
            .find(|b| b["data"]["entry"]["idempotency_key"] == "w-1")
            .unwrap();
        assert_eq!(first["data"]["entry"]["amount"], 8);
        assert_eq!(first["data"]["entry"]["kind"], "earn");
        assert_eq!(first["data"]["member"]["balance"], 8);
        let tier = bodies
            .iter()
            .find(|b| b["type"] == "member.tier_changed")
            .unwrap();
        assert_eq!(tier["data"]["previous_tier"], "Bronze");
        assert_eq!(tier["data"]["tier"], "Silver");
        assert_eq!(tier["data"]["member"]["lifetime_points"], 128);
        // Someone else's signature does not verify: the check above can fail.
        let forged = std::panic::catch_unwind(|| verify(&got[0], "whsec_not-the-secret"));
        assert!(forged.is_err());

        // What the endpoint was sent, newest first, each delivered on the first attempt.
        let r = app
            .get(&format!("/api/v1/webhooks/{id}/deliveries"), &app.admin)
            .await;
        assert_eq!(r.status, 200);
        let deliveries = r.body["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 3);
        for d in deliveries {
            assert_eq!(
                (&d["state"], &d["attempts"]),
                (&json!("done"), &json!(1)),
                "{d}"
            );
        }
        assert_eq!(
            deliveries[2]["event_id"],
            bodies
                .iter()
                .find(|b| b["data"]["entry"]["idempotency_key"] == "w-1")
                .unwrap()["id"]
        );
        assert_eq!(metric(&app.metrics().await, "delivered"), "3");
    }
);

both_engines!(
    unsubscribed_events_are_not_sent,
    |app: TestApp| async move {
        let receiver = WebhookReceiver::start().await;
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        endpoint(
            &app,
            &program,
            &receiver.url("/cards"),
            json!(["card.installed"]),
        )
        .await;
        endpoint(
            &app,
            &program,
            &receiver.url("/tiers"),
            json!(["member.tier_changed"]),
        )
        .await;
        endpoint(&app, &other, &receiver.url("/other"), json!(["*"])).await;
        let (off, _) = endpoint(&app, &program, &receiver.url("/off"), json!(["*"])).await;
        let r = patch(
            &app,
            &app.admin,
            &format!("/api/v1/webhooks/{off}"),
            json!({"active": false}),
        )
        .await;
        assert_eq!(r.status, 200);
        // Points change, the tier does not: no endpoint of this program takes that.
        let r = app
            .adjust(&member, "u-1", json!({"points": 5, "reason": "welcome"}))
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(
            app.count("webhook_events").await,
            0,
            "nothing written for no one"
        );
        assert_eq!(app.count("webhook_deliveries").await, 0);
        drain(&app).await;
        assert!(receiver.received().is_empty(), "{:?}", receiver.received());
        // Reaching Silver is sent, once, to the one endpoint that takes it.
        let r = app
            .adjust(&member, "u-2", json!({"points": 100, "reason": "promo"}))
            .await;
        assert_eq!(r.body["tier_changed"], true);
        drain(&app).await;
        let got = receiver.received();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].path, "/tiers");
        assert_eq!(got[0].json()["type"], "member.tier_changed");

        // New thresholds move Ada (105 lifetime points) back to Bronze: sent too, once;
        // Bob, Bronze before and after, is not mentioned.
        let bob = app.member(&program, "Bob").await;
        let tiers = json!([{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 200},
                           {"name": "Gold", "threshold": 500}]);
        let r = app
            .send(
                Method::PUT,
                &format!("/api/v1/programs/{program}/tiers"),
                Some(&app.admin),
                Some(&tiers),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        drain(&app).await;
        let got = receiver.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].path, "/tiers");
        let body = got[1].json();
        assert_eq!(body["type"], "member.tier_changed");
        assert_eq!(body["data"]["member"]["id"], member.as_str());
        assert_eq!(body["data"]["member"]["tier"], "Bronze");
        assert_eq!(body["data"]["previous_tier"], "Silver");
        assert_eq!(body["data"]["tier"], "Bronze");
        assert_ne!(body["data"]["member"]["id"], bob.as_str());
    }
);

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

both_engines!(
    apple_registrations_are_card_events,
    |app: TestApp| async move {
        let receiver = WebhookReceiver::start().await;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let (_, secret) = endpoint(
            &app,
            &program,
            &receiver.url("/cards"),
            json!(["card.installed", "card.removed"]),
        )
        .await;
        let pass = install(&app, &member).await;
        let phone = Device::new("cardphone", &push_token(500));
        let watch = Device::new("cardwatch", &push_token(501));
        assert_eq!(phone.register(&pass).await, 201);
        assert_eq!(
            phone.register(&pass).await,
            200,
            "already registered: no event"
        );
        assert_eq!(watch.register(&pass).await, 201);
        assert_eq!(phone.unregister(&pass).await, 200);
        assert_eq!(phone.unregister(&pass).await, 200, "nothing left: no event");
        // APNs says the watch's token is gone: its registration goes, a removal too.
        let topic = PassTypeId::parse(PASS_TYPE_ID).unwrap();
        let token = PushToken::parse(&watch.push_token).unwrap();
        let now = passwright::clock::system_now();
        let removed = app
            .state
            .store
            .drop_push_token(&topic, &token, now, now)
            .await
            .unwrap();
        assert_eq!(removed, 1);

        let pid = ProgramId::parse(&program).unwrap();
        let events = app.state.store.card_events(&pid).await.unwrap();
        let seen: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| (e.member_id.as_str(), e.wallet.as_str(), e.event.as_str()))
            .collect();
        let m = member.as_str();
        assert_eq!(
            seen,
            [
                (m, "apple", "installed"),
                (m, "apple", "installed"),
                (m, "apple", "removed"),
                (m, "apple", "removed"),
            ]
        );
        drain(&app).await;
        let got = receiver.received();
        assert_eq!(got.len(), 4, "{got:?}");
        let mut types: Vec<String> = got
            .iter()
            .map(|r| {
                verify(r, &secret);
                let body = check_envelope(r, &program);
                assert_eq!(body["data"]["wallet"], "apple");
                assert_eq!(body["data"]["member"]["id"], m);
                body["type"].as_str().unwrap().to_string()
            })
            .collect();
        types.sort();
        assert_eq!(
            types,
            [
                "card.installed",
                "card.installed",
                "card.removed",
                "card.removed"
            ]
        );
    }
);

both_engines!(
    google_callbacks_are_card_events,
    |app: TestApp| async move {
        let store = &app.state.store;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let pid = ProgramId::parse(&program).unwrap();
        let mid = MemberId::parse(&member).unwrap();
        let now = passwright::clock::system_now();
        store
            .issue_google_object(&mid, &pid, "3388.obj-1", "3388.class", now)
            .await
            .unwrap();
        assert!(store
            .record_google_callback("n-1", "3388.obj-1", "3388.class", true, now)
            .await
            .unwrap());
        assert!(
            !store
                .record_google_callback("n-1", "3388.obj-1", "3388.class", true, now)
                .await
                .unwrap(),
            "a replayed nonce"
        );
        assert!(store
            .record_google_callback("n-2", "3388.obj-1", "3388.class", false, now)
            .await
            .unwrap());
        // A callback about an object passwright never issued is kept, but no card event.
        assert!(store
            .record_google_callback("n-3", "3388.unknown", "3388.class", true, now)
            .await
            .unwrap());
        let events = store.card_events(&pid).await.unwrap();
        let seen: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.wallet.as_str(), e.event.as_str()))
            .collect();
        assert_eq!(seen, [("google", "installed"), ("google", "removed")]);
        assert!(events.iter().all(|e| e.member_id == member));
        assert_eq!(app.count("card_events").await, 2);
    }
);

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
