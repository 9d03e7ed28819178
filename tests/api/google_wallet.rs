//! Google Wallet end to end, against a local Google stand-in (OAuth token endpoint and
//! walletobjects) that checks the bearer token and validates every body against Google's
//! discovery document: issue -> balance change -> reward unlocked and tier changes with
//! notifications -> quota exhausted -> silent update -> void; retries; signed callbacks.

use std::sync::Arc;

use passwright::clock::ManualClock;
use serde_json::{json, Value};

use crate::both_engines;
use crate::fake_google::FakeGoogle;
use crate::google_callbacks::{message, TestCallbackKeys, FAR_FUTURE_MS};
use crate::helpers::*;

pub const ISSUER: &str = "3388000000012345678";

pub struct Google {
    pub app: TestApp,
    pub fake: FakeGoogle,
    clock: ManualClock,
    keys: TestCallbackKeys,
    pub account_public_pem: Vec<u8>,
    _account: crate::fake_google::TestServiceAccount,
}

pub async fn google_app(engine: Engine, test: &str) -> Option<Google> {
    let fake = FakeGoogle::start().await;
    fake.set_validator(Arc::new(|schema, body| {
        crate::google_schema::validate(schema, body)
    }));
    let account = fake.service_account();
    let keys = TestCallbackKeys::generate();
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    let keys_file = data_dir.path().join("google-keys.json");
    std::fs::write(&keys_file, keys.keys_json()).unwrap();
    // Google fetches images and posts callbacks over HTTPS only.
    settings.server.public_base_url = "https://cards.example.com".into();
    settings.google.issuer_id = ISSUER.into();
    settings.google.service_account_file = Some(account.path.clone());
    settings.google.api_url = fake.api_base_url();
    settings.google.origins = "https://cards.example.com".into();
    settings.google.callback_keys_file = Some(keys_file);
    let clock = ManualClock::at(passwright::clock::system_now());
    let app = spawn_with_clock(settings, data_dir, Arc::new(clock.clone())).await;
    Some(Google {
        app,
        fake,
        clock,
        keys,
        account_public_pem: account.public_key_pem.clone(),
        _account: account,
    })
}

pub fn jwt_claims(url: &str, public_pem: &[u8]) -> Value {
    let jwt = url
        .strip_prefix("https://pay.google.com/gp/v/save/")
        .unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_pem).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["google"]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .unwrap()
        .claims
}

async fn drain(app: &TestApp) {
    app.state.outbox.drain().await.unwrap();
}

async fn journey(engine: Engine, test: &str) {
    let Some(g) = google_app(engine, test).await else {
        return;
    };
    let app = &g.app;
    let program = app.sample_program().await;
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            json!({"name": "Free espresso", "cost": 50}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let member = app.member(&program, "Ada Lovelace").await;

    // Issue: the class and object are inserted first, the link names them.
    let r = app
        .post(
            &format!("/api/v1/members/{member}/google"),
            &app.admin,
            json!({}),
        )
        .await;
    let seen: Vec<String> = g
        .fake
        .requests()
        .iter()
        .map(|q| format!("{} {} -> {} {}", q.method, q.path, q.status, q.body))
        .collect();
    assert_eq!(r.status, 200, "{:?} after {seen:#?}", r.body);
    assert_eq!(r.body["mode"], "skinny");
    let url = r.body["save_url"].as_str().unwrap();
    assert!(url.len() <= 1800);
    let claims = jwt_claims(url, &g.account_public_pem);
    crate::google_schema::validate_save_jwt_claims(&claims).unwrap();
    assert_eq!(claims["typ"], "savetowallet");
    assert_eq!(claims["origins"], json!(["https://cards.example.com"]));
    let object_id = claims["payload"]["loyaltyObjects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let class_id = format!("{ISSUER}.{program}");
    assert_eq!(
        claims["payload"]["loyaltyObjects"][0]["classId"],
        class_id.as_str()
    );
    let object = g
        .fake
        .object(&object_id)
        .expect("object inserted before the link");
    assert_eq!(object["state"], "ACTIVE");
    assert_eq!(object["loyaltyPoints"]["balance"]["int"], 0);
    assert!(g.fake.class(&class_id).is_some());
    let card = app
        .get(&format!("/api/v1/members/{member}"), &app.admin)
        .await;
    let apple_pass = app
        .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
        .await;
    let apple = crate::device::pass_json(&apple_pass.bytes);
    assert_eq!(
        object["barcode"]["value"], apple["barcodes"][0]["message"],
        "both wallets carry the same signed token ({})",
        card.body["id"]
    );

    // A balance change updates silently; crossing a reward's cost notifies.
    let member_id = member.clone();
    let earn = |n: i64, key: &'static str| {
        let member = member_id.clone();
        async move {
            app.adjust(&member, key, json!({"points": n, "reason": "test"}))
                .await
        }
    };
    assert_eq!(earn(20, "g-1").await.status, 201);
    drain(app).await;
    assert_eq!(
        g.fake.object(&object_id).unwrap()["loyaltyPoints"]["balance"]["int"],
        20
    );
    assert_eq!(
        g.fake.messages(&object_id).len(),
        0,
        "a plain balance change is silent"
    );
    assert_eq!(earn(40, "g-2").await.status, 201);
    drain(app).await;
    assert_eq!(g.fake.notifications(&object_id), 1, "reward unlocked");
    // Tier changes notify: Silver, then Gold.
    assert_eq!(earn(100, "g-3").await.status, 201);
    drain(app).await;
    assert_eq!(earn(400, "g-4").await.status, 201);
    drain(app).await;
    assert_eq!(g.fake.notifications(&object_id), 3);
    let object = g.fake.object(&object_id).unwrap();
    assert_eq!(object["loyaltyPoints"]["balance"]["int"], 560);
    let shown = object.to_string();
    assert!(shown.contains("Gold"), "{shown}");
    // A fourth notifying change within the day goes out silently.
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            json!({"name": "Bag of beans", "cost": 600}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(earn(50, "g-5").await.status, 201);
    drain(app).await;
    assert_eq!(
        g.fake.notifications(&object_id),
        3,
        "never more than Google allows"
    );
    let messages = g.fake.messages(&object_id);
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[3]["messageType"], "TEXT");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("passwright_google_messages_total{sent=\"silent_over_quota\"} 1"),
        "{metrics}"
    );

    // 429 and 500 are retried after their backoff, then the update lands.
    let path = format!("/walletobjects/v1/loyaltyObject/{object_id}");
    g.fake.fail_next(&path, 429, 1);
    g.fake.fail_next(&path, 500, 1);
    assert_eq!(earn(1, "g-6").await.status, 201);
    drain(app).await;
    assert_eq!(
        g.fake.object(&object_id).unwrap()["loyaltyPoints"]["balance"]["int"],
        610
    );
    for _ in 0..2 {
        g.clock.advance(time::Duration::minutes(10));
        drain(app).await;
    }
    assert_eq!(
        g.fake.object(&object_id).unwrap()["loyaltyPoints"]["balance"]["int"],
        611
    );

    // Voiding the card makes the Google card inactive.
    let r = app
        .post(
            &format!("/api/v1/members/{member}/void"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    drain(app).await;
    assert_eq!(g.fake.object(&object_id).unwrap()["state"], "INACTIVE");
    let stats = app.state.store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.running, stats.failed), (0, 0, 0));

    // Save and delete callbacks: verified, recorded once, replays and forgeries refused.
    let now_ms = {
        use passwright::clock::Clock;
        (g.clock.now().unix_timestamp() + 600) * 1000
    };
    let saved = message(&class_id, &object_id, "save", "nonce-1", now_ms);
    let callback = |body: String| async move {
        reply(
            app.client
                .post(app.url("/google/callbacks"))
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
        .status
    };
    let envelope = g
        .keys
        .envelope("GooglePayPasses", ISSUER, &saved, FAR_FUTURE_MS);
    assert_eq!(callback(envelope.clone()).await, 200);
    assert_eq!(callback(envelope).await, 409, "replayed nonce");
    let deleted = message(&class_id, &object_id, "del", "nonce-2", now_ms);
    let envelope = g
        .keys
        .envelope("GoogleWalletPasses", ISSUER, &deleted, FAR_FUTURE_MS);
    let tampered = envelope.replace("nonce-2", "nonce-3");
    assert_eq!(callback(tampered).await, 400);
    // A body over the callbacks' 64 KiB is refused before it is read further.
    assert_eq!(callback("x".repeat(65 * 1024)).await, 413);
    let other_issuer = g
        .keys
        .envelope("GooglePayPasses", "999", &deleted, FAR_FUTURE_MS);
    assert_eq!(callback(other_issuer).await, 400);
    let expired = message(&class_id, &object_id, "del", "nonce-4", now_ms - 3_600_000);
    assert_eq!(
        callback(
            g.keys
                .envelope("GooglePayPasses", ISSUER, &expired, FAR_FUTURE_MS)
        )
        .await,
        400
    );
    assert_eq!(callback(envelope).await, 200);
    let record = app
        .state
        .store
        .google_object(&passwright::domain::ids::MemberId::parse(&member).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(record.saved_at.is_some() && record.deleted_at.is_some());
    assert_eq!(app.count("google_callbacks").await, 2);
    // Reports count the save as an install and the delete as a removal.
    let events = app
        .state
        .store
        .card_events(&passwright::domain::ids::ProgramId::parse(&program).unwrap())
        .await
        .unwrap();
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.wallet.as_str(), e.event.as_str()))
        .collect();
    assert_eq!(seen, [("google", "installed"), ("google", "removed")]);
}

both_engines!(google_card_journey, run = journey);

#[tokio::test]
async fn without_the_api_links_carry_the_whole_card_within_1800_characters() {
    let fake = FakeGoogle::start().await;
    let account = fake.service_account();
    let data_dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, data_dir.path()).await.unwrap();
    let mut settings = settings_for(data_dir.path(), &url);
    settings.server.public_base_url = "https://cards.example.com".into();
    settings.google.issuer_id = ISSUER.into();
    settings.google.service_account_file = Some(account.path.clone());
    settings.google.api_url = String::new();
    let app = spawn_with(settings, data_dir).await;
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let r = app
        .post(
            &format!("/api/v1/members/{member}/google"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["mode"], "full");
    let url = r.body["save_url"].as_str().unwrap();
    assert!(url.len() <= 1800, "{}", url.len());
    let claims = jwt_claims(url, &account.public_key_pem);
    crate::google_schema::validate_save_jwt_claims(&claims).unwrap();
    crate::google_schema::validate("LoyaltyObject", &claims["payload"]["loyaltyObjects"][0])
        .unwrap();
    crate::google_schema::validate("LoyaltyClass", &claims["payload"]["loyaltyClasses"][0])
        .unwrap();
    assert!(
        fake.api_requests().is_empty(),
        "no API configured, no API calls"
    );
    // With many translations the whole card no longer fits: the link falls back to the
    // card's essentials rather than failing (the error path itself is unit-tested).
    let long: serde_json::Map<String, Value> = [("Test Beans", "Testbohnen ".repeat(20))]
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let design = json!({"languages": ["en", "de"], "localizations": {"de": long}});
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/programs/{program}/design"),
            Some(&app.admin),
            Some(&design),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = app
        .post(
            &format!("/api/v1/members/{member}/google"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let url = r.body["save_url"].as_str().unwrap();
    assert!(url.len() <= 1800, "{}", url.len());
    let claims = jwt_claims(url, &account.public_key_pem);
    let class = &claims["payload"]["loyaltyClasses"][0];
    crate::google_schema::validate("LoyaltyClass", class).unwrap();
    assert!(class.get("localizedProgramName").is_none(), "{class}");
}

/// A change made while one instance runs is delivered by another started later on the same
/// database: the job waits in the outbox, not in a process.
#[tokio::test]
async fn a_pending_google_update_survives_a_restart() {
    let fake = FakeGoogle::start().await;
    let account = fake.service_account();
    let first_dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, first_dir.path())
        .await
        .unwrap();
    let google_settings = |dir: &std::path::Path| {
        let mut s = settings_for(dir, &url);
        s.server.public_base_url = "https://cards.example.com".into();
        s.google.issuer_id = ISSUER.into();
        s.google.service_account_file = Some(account.path.clone());
        s.google.api_url = fake.api_base_url();
        s
    };
    let first = spawn_with(
        google_settings(first_dir.path()),
        tempfile::tempdir().unwrap(),
    )
    .await;
    let program = first.sample_program().await;
    let member = first.member(&program, "Ada").await;
    let r = first
        .post(
            &format!("/api/v1/members/{member}/google"),
            &first.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = first
        .adjust(
            &member,
            "before-restart",
            json!({"points": 42, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let (object_id, object) = fake.objects().into_iter().next().unwrap();
    assert_eq!(
        object["loyaltyPoints"]["balance"]["int"], 0,
        "not delivered yet"
    );
    // The first instance never delivers (it has no workers); a second one takes over.
    let second_dir = tempfile::tempdir().unwrap();
    let second = spawn_with(google_settings(second_dir.path()), second_dir).await;
    second.state.outbox.drain().await.unwrap();
    assert_eq!(
        fake.object(&object_id).unwrap()["loyaltyPoints"]["balance"]["int"],
        42
    );
}
