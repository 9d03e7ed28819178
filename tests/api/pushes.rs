//! Changes reach devices: a simulated Wallet device walks the whole protocol against the
//! service while a local APNs stand-in (HTTP/2, TLS, client certificate) records the pushes.
//! Deliveries run when the test drains the outbox, so counts are exact.

use std::sync::Arc;
use std::time::Duration;

use passwright::clock::{ManualClock, SystemClock};
use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::device::{install, pass_json, push_token, Device};
use crate::fake_apns::Reply as Apns;
use crate::helpers::*;
use crate::web_service::balance;

async fn drain(app: &TestApp) -> usize {
    app.state.outbox.drain().await.unwrap()
}

async fn walk(engine: Engine, test: &str) {
    let fake = fake_apns(Duration::ZERO).await;
    let Some(app) = spawn_pushing(engine, test, &fake, Arc::new(SystemClock)).await else {
        return;
    };
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let pass = install(&app, &member).await;
    let mut phone = Device::new("0f1e2d3c4b5a69780f1e2d3c4b5a6978", &push_token(1));
    assert_eq!(phone.register(&pass).await, 201);
    assert_eq!(
        phone
            .updated(&pass.web_service_url, &pass.pass_type)
            .await
            .0,
        200
    );
    let installed = phone.fetch(&pass, None).await;
    let modified = installed.headers["last-modified"]
        .to_str()
        .unwrap()
        .to_string();

    // The balance changes through the REST API...
    let r = app
        .earn(
            &member,
            &app.admin,
            "walk-1",
            json!({"amount": "4.00", "product_types": ["coffee"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(drain(&app).await >= 2, "fan-out and push");
    // ...and the device is told, exactly as APNs expects it.
    let pushes = fake.requests();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    let push = &pushes[0];
    assert_eq!(push.method, "POST");
    assert_eq!(push.path, format!("/3/device/{}", phone.push_token));
    assert_eq!(push.topic.as_deref(), Some(PASS_TYPE_ID));
    assert_eq!(push.push_type.as_deref(), Some("background"));
    assert_eq!(push.priority.as_deref(), Some("5"));
    assert_eq!(push.body, b"{}");
    assert_eq!(push.status, Some(200));

    // The device asks what changed, fetches the pass and sees the new value with its
    // lock-screen message.
    let (status, serials) = phone.updated(&pass.web_service_url, &pass.pass_type).await;
    assert_eq!(
        (status, serials),
        (reqwest::StatusCode::OK, vec![pass.serial.clone()])
    );
    let fresh = phone.fetch(&pass, Some(&modified)).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(balance(&fresh.bytes), 8);
    let points = crate::passes::field(&pass_json(&fresh.bytes), "points").clone();
    let json = pass_json(&fresh.bytes);
    let message = json["storeCard"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|g| g.as_array().unwrap().iter())
        .find(|f| f["key"] == "points")
        .and_then(|f| f["changeMessage"].as_str())
        .unwrap()
        .to_string();
    assert!(message.contains("%@"), "{message} for {points}");
    let fresh_modified = fresh.headers["last-modified"].to_str().unwrap().to_string();
    assert_eq!(phone.fetch(&pass, Some(&fresh_modified)).await.status, 304);

    // Once the pass is deleted from the device, changes push nothing to it.
    assert_eq!(phone.unregister(&pass).await, 200);
    let r = app
        .adjust(&member, "walk-2", json!({"points": 1, "reason": "x"}))
        .await;
    assert_eq!(r.status, 201);
    drain(&app).await;
    assert_eq!(fake.requests().len(), 1, "no push after unregistering");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("passwright_apns_pushes_total{outcome=\"delivered\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("passwright_outbox_jobs{state=\"pending\"} 0"),
        "{metrics}"
    );
}

both_engines!(a_device_walks_the_whole_protocol, run = walk);

/// What makes the devices' card change.
#[derive(Clone, Copy)]
enum Change {
    /// The member's points: one card, one `apple_push` job per device.
    Card,
    /// The program's name: a push range over the program's registrations.
    Program,
}

async fn outcomes(engine: Engine, test: &str, change: Change) {
    let fake = fake_apns(Duration::ZERO).await;
    let clock = ManualClock::at(passwright::clock::system_now());
    let Some(app) = spawn_pushing(engine, test, &fake, Arc::new(clock.clone())).await else {
        return;
    };
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let pass = install(&app, &member).await;
    let gone = Device::new("gone", &push_token(10));
    let bad = Device::new("bad", &push_token(11));
    let busy = Device::new("busy", &push_token(12));
    for d in [&gone, &bad, &busy] {
        assert_eq!(d.register(&pass).await, 201);
    }
    fake.script(&gone.push_token, [Apns::unregistered(clock.now_plus(1))]);
    fake.script(&bad.push_token, [Apns::error(400, "BadDeviceToken")]);
    fake.script(
        &busy.push_token,
        [
            Apns::error(429, "TooManyRequests"),
            Apns::error(503, "ServiceUnavailable"),
        ],
    );
    let status = match change {
        Change::Card => {
            app.adjust(&member, "o-1", json!({"points": 2, "reason": "x"}))
                .await
                .status
        }
        Change::Program => {
            let body = json!({"name": "Renamed"});
            let path = format!("/api/v1/programs/{program}");
            app.send(Method::PATCH, &path, Some(&app.admin), Some(&body), &[])
                .await
                .status
        }
    };
    assert!(status == 200 || status == 201, "{status}");
    drain(&app).await;
    assert_eq!(fake.requests().len(), 3);
    // 410 removed that device's registration; 400 kept its own.
    assert_eq!(app.count("apple_registrations").await, 2);
    let mut listed = Device::new("gone", &gone.push_token);
    assert_eq!(
        listed
            .updated(&pass.web_service_url, &pass.pass_type)
            .await
            .0,
        204
    );
    let mut still = Device::new("bad", &bad.push_token);
    assert_eq!(
        still
            .updated(&pass.web_service_url, &pass.pass_type)
            .await
            .0,
        200
    );
    let failed = app
        .get("/api/v1/outbox/jobs?state=failed", &app.admin)
        .await;
    assert_eq!(failed.body["jobs"].as_array().unwrap().len(), 1);
    assert!(failed.body["jobs"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("BadDeviceToken"));
    // 429 and then 503 are retried after their backoff, and then the push gets through.
    assert_eq!(drain(&app).await, 0, "not due before the backoff");
    clock.advance(time::Duration::minutes(5));
    drain(&app).await;
    clock.advance(time::Duration::minutes(5));
    drain(&app).await;
    assert_eq!(fake.count_for(&busy.push_token), 3);
    let statuses: Vec<Option<u16>> = fake
        .requests()
        .iter()
        .filter(|r| r.token.as_deref() == Some(busy.push_token.as_str()))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![Some(429), Some(503), Some(200)]);
    let stats = app.state.store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.running, stats.failed), (0, 0, 1));
    let metrics = app.metrics().await;
    for line in [
        "passwright_apns_pushes_total{outcome=\"delivered\"} 1",
        "passwright_apns_pushes_total{outcome=\"unregistered\"} 1",
        "passwright_apns_pushes_total{outcome=\"bad_device_token\"} 1",
        "passwright_apns_pushes_total{outcome=\"retried\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

trait Later {
    fn now_plus(&self, secs: i64) -> time::OffsetDateTime;
}

impl Later for ManualClock {
    fn now_plus(&self, secs: i64) -> time::OffsetDateTime {
        use passwright::clock::Clock;
        self.now() + time::Duration::seconds(secs)
    }
}

both_engines!(
    apns_outcomes_prune_keep_and_retry,
    run = |engine, test| outcomes(engine, test, Change::Card)
);

both_engines!(
    apns_outcomes_of_a_push_range,
    run = |engine, test| outcomes(engine, test, Change::Program)
);

/// A program-wide change through the API: the tiers become Member and VIP (from 2 points).
async fn add_vip_tier(app: &TestApp, program: &str) {
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/programs/{program}/tiers"),
            Some(&app.admin),
            Some(&json!([{"name": "Member", "threshold": 0}, {"name": "VIP", "threshold": 2}])),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// A design change reaches every device holding any of the program's cards once, and a burst
/// of changes to one card in the same window adds no second push.
async fn program_change(engine: Engine, test: &str) {
    let fake = fake_apns(Duration::ZERO).await;
    let Some(app) = spawn_pushing(engine, test, &fake, Arc::new(SystemClock)).await else {
        return;
    };
    let program = app.sample_program().await;
    let mut devices = Vec::new();
    for n in 0..4u32 {
        let member = app.member(&program, &format!("M{n}")).await;
        let pass = install(&app, &member).await;
        let phone = Device::new(&format!("phone{n}"), &push_token(200 + n));
        assert_eq!(phone.register(&pass).await, 201);
        devices.push((member, pass, phone));
    }
    // One phone holds two cards of the program: it still gets one push.
    assert_eq!(devices[0].2.register(&devices[1].1).await, 201);
    for i in 0..3 {
        let r = app
            .adjust(
                &devices[2].0,
                &format!("burst-{i}"),
                json!({"points": 1, "reason": "x"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    add_vip_tier(&app, &program).await;
    drain(&app).await;
    for (_, _, phone) in &devices {
        assert_eq!(fake.count_for(&phone.push_token), 1, "{}", phone.id);
    }
    assert_eq!(fake.requests().len(), 4);
    // The tier change shows on the card the device fetches next.
    let (member, pass, phone) = &devices[2];
    let fetched = phone.fetch(pass, None).await;
    assert_eq!(
        crate::passes::field(&pass_json(&fetched.bytes), "tier"),
        "VIP"
    );
    // Voiding a card pushes to its device, and the pass it fetches is voided.
    let r = app
        .post(
            &format!("/api/v1/members/{member}/void"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    drain(&app).await;
    assert_eq!(fake.count_for(&phone.push_token), 2);
    assert_eq!(fake.requests().len(), 5);
    let fetched = phone.fetch(pass, None).await;
    assert_eq!(pass_json(&fetched.bytes)["voided"], true);
}

both_engines!(
    a_program_change_pushes_every_device_once,
    run = program_change
);

/// A device that registers again with a new push token (Wallet does after a restore): every
/// later push goes to the new token, whether a card of it changed (its own push job) or the
/// whole program did (a push range read from the registrations), and none to the old one.
async fn refreshed_token(engine: Engine, test: &str) {
    let fake = fake_apns(Duration::ZERO).await;
    let Some(app) = spawn_pushing(engine, test, &fake, Arc::new(SystemClock)).await else {
        return;
    };
    let program = app.sample_program().await;
    let first = app.member(&program, "First").await;
    let second = app.member(&program, "Second").await;
    let first_pass = install(&app, &first).await;
    let second_pass = install(&app, &second).await;
    let old = Device::new("restored", &push_token(300));
    assert_eq!(old.register(&first_pass).await, 201);
    assert_eq!(old.register(&second_pass).await, 201);
    // The same device, a new token, through one of its two cards only.
    let new = Device::new("restored", &push_token(301));
    assert_eq!(new.register(&first_pass).await, 200);

    let r = app
        .adjust(
            &second,
            "after-restore",
            json!({"points": 5, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    drain(&app).await;
    assert_eq!(fake.count_for(&new.push_token), 1);

    add_vip_tier(&app, &program).await;
    drain(&app).await;
    assert_eq!(fake.count_for(&new.push_token), 2);
    assert_eq!(fake.count_for(&old.push_token), 0);
    assert_eq!(fake.requests().len(), 2);
}

both_engines!(pushes_follow_a_refreshed_token, run = refreshed_token);

/// Running workers start a program's fan-out as soon as the change is committed, not at
/// their next poll (here an hour away).
async fn program_change_wakes(engine: Engine, test: &str) {
    let fake = fake_apns(Duration::ZERO).await;
    let Some(app) = spawn_pushing_with(engine, test, &fake, Arc::new(SystemClock), |s| {
        s.outbox.workers = 2;
        s.outbox.poll_ms = 3_600_000;
    })
    .await
    else {
        return;
    };
    let program = app.sample_program().await;
    let member = app.member(&program, "Woken").await;
    let pass = install(&app, &member).await;
    let phone = Device::new("woken", &push_token(400));
    assert_eq!(phone.register(&pass).await, 201);
    add_vip_tier(&app, &program).await;
    assert!(
        fake.wait_for(1, Duration::from_secs(30)).await,
        "no push: the workers were not woken"
    );
    assert_eq!(fake.count_for(&phone.push_token), 1);
}

both_engines!(
    a_program_change_wakes_the_workers,
    run = program_change_wakes
);
