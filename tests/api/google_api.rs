//! The Google Wallet REST client against the local stand-in (tests/support/fake_google.rs):
//! the OAuth token flow and its cache, patch-else-insert and insert-else-patch, retryable
//! answers, 401 recovery, and the notification quota. Everything stays on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use passwright::clock::{ManualClock, SharedClock, SystemClock};
use passwright::delivery::google::{GoogleApiConfig, GoogleClient, GoogleOutcome};
use serde_json::{json, Value};
use time::macros::datetime;

use crate::fake_google::{ExpiresIn, FakeGoogle, Scripted, TestServiceAccount};

const ISSUER: &str = "3388000000022";
const CLASS_ID: &str = "3388000000022.gold";

fn object_id(n: u32) -> String {
    format!("{ISSUER}.member-{n}")
}

fn object_path(n: u32) -> String {
    format!("/walletobjects/v1/loyaltyObject/{}", object_id(n))
}

fn class() -> Value {
    json!({
        "id": CLASS_ID,
        "issuerName": "Corner Café",
        "programName": "Coffee Club",
        "reviewStatus": "UNDER_REVIEW",
    })
}

fn object(n: u32, balance: i64) -> Value {
    json!({
        "id": object_id(n),
        "classId": CLASS_ID,
        "state": "ACTIVE",
        "loyaltyPoints": {"label": "Points", "balance": {"int": balance}},
    })
}

fn message(kind: &str, n: u32) -> Value {
    json!({"header": "Gold", "body": format!("Message {n}"), "messageType": kind})
}

struct Setup {
    fake: FakeGoogle,
    client: GoogleClient,
    _account: TestServiceAccount,
}

async fn setup_with(clock: SharedClock, tweak: impl FnOnce(&mut GoogleApiConfig)) -> Setup {
    let fake = FakeGoogle::start_with_clock(Arc::clone(&clock)).await;
    let account = fake.service_account();
    let mut config = GoogleApiConfig {
        api_base_url: fake.api_base_url(),
        token_url: None,
        timeout: Duration::from_secs(5),
    };
    tweak(&mut config);
    let client = GoogleClient::new(config, account.load(), clock).unwrap();
    Setup {
        fake,
        client,
        _account: account,
    }
}

async fn setup() -> Setup {
    setup_with(Arc::new(SystemClock), |_| {}).await
}

/// A stand-in with the class already there, on a clock the test moves.
async fn manual() -> (Setup, ManualClock) {
    let clock = ManualClock::at(datetime!(2026-03-01 12:00 UTC));
    let setup = setup_with(Arc::new(clock.clone()), |_| {}).await;
    assert_eq!(
        setup.client.upsert_class(&class()).await,
        GoogleOutcome::Done
    );
    (setup, clock)
}

fn methods(fake: &FakeGoogle) -> Vec<(String, String)> {
    let api = fake.api_requests().into_iter();
    api.map(|r| (r.method, r.path)).collect()
}

fn retry_status(outcome: &GoogleOutcome) -> Option<u16> {
    match outcome {
        GoogleOutcome::Retry { status, .. } => *status,
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn one_token_serves_many_calls_and_concurrent_callers_share_its_request() {
    let Setup { fake, client, .. } = setup().await;
    let class = class();
    let first = join_all((0..8).map(|_| client.upsert_class(&class))).await;
    assert!(first.iter().all(|o| *o == GoogleOutcome::Done), "{first:?}");
    let objects = (1..=5).map(|n| object(n, 10)).collect::<Vec<_>>();
    for outcome in join_all(objects.iter().map(|o| client.upsert_object(o))).await {
        assert_eq!(outcome, GoogleOutcome::Done);
    }
    assert_eq!(fake.token_requests(), 1);
    let api = fake.api_requests();
    assert!(api.iter().all(|r| r.bearer() == Some("test-1")));
    assert_eq!(fake.objects().len(), 5);
    let stats = client.stats();
    assert_eq!((stats.token_refreshes, stats.done), (1, 13));
    assert_eq!(stats.requests, api.len() as u64);
}

#[tokio::test]
async fn the_token_is_replaced_shortly_before_it_expires() {
    let (Setup { fake, client, .. }, clock) = manual().await;
    fake.set_expires_in(ExpiresIn::Number(3600));
    // The class was written with a token from the default 3599 s; start from a fresh one.
    clock.advance(time::Duration::hours(2));
    assert_eq!(
        client.upsert_object(&object(1, 1)).await,
        GoogleOutcome::Done
    );
    assert_eq!(fake.tokens_issued(), 2);
    clock.advance(time::Duration::minutes(54));
    assert_eq!(
        client.upsert_object(&object(1, 2)).await,
        GoogleOutcome::Done
    );
    assert_eq!(fake.tokens_issued(), 2, "still 6 minutes to go: reused");
    clock.advance(time::Duration::minutes(2));
    assert_eq!(
        client.upsert_object(&object(1, 3)).await,
        GoogleOutcome::Done
    );
    assert_eq!(
        fake.tokens_issued(),
        3,
        "within 5 minutes of expiry: replaced"
    );
    let last = fake.api_requests().pop().unwrap();
    assert_eq!(last.bearer(), Some("test-3"));
    assert_eq!(client.stats().token_refreshes, 3);
}

#[tokio::test]
async fn expires_in_sent_as_a_string_is_understood() {
    let clock = ManualClock::at(datetime!(2026-03-01 12:00 UTC));
    let Setup { fake, client, .. } = setup_with(Arc::new(clock.clone()), |_| {}).await;
    fake.set_expires_in(ExpiresIn::Text(120));
    assert_eq!(client.upsert_class(&class()).await, GoogleOutcome::Done);
    let answer = fake.requests().into_iter().find(|r| r.is_token_request());
    assert_eq!(answer.unwrap().status, 200);
    // 120 s, replaced at 90%: a default of an hour would keep it far longer.
    clock.advance(time::Duration::seconds(100));
    assert_eq!(client.upsert_class(&class()).await, GoogleOutcome::Done);
    assert_eq!(fake.tokens_issued(), 1);
    clock.advance(time::Duration::seconds(10));
    assert_eq!(client.upsert_class(&class()).await, GoogleOutcome::Done);
    assert_eq!(fake.tokens_issued(), 2);
}

#[tokio::test]
async fn the_assertion_is_what_google_expects() {
    let Setup { fake, client, .. } = setup().await;
    assert_eq!(client.upsert_class(&class()).await, GoogleOutcome::Done);
    let request = fake.requests().into_iter().next().unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/token")
    );
    assert!(request.body.starts_with(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
    ));
    // The stand-in checked signature, iss, aud and scope; it issued a token, so they held.
    assert_eq!(request.status, 200);
    assert_eq!(request.auth, None);
}

#[tokio::test]
async fn the_token_url_from_settings_wins_over_the_key_file() {
    let fake = FakeGoogle::start().await;
    // A key file pointing nowhere useful: port 9 on this machine.
    let account = TestServiceAccount::generate("http://127.0.0.1:9/token");
    fake.trust(&account);
    let config = GoogleApiConfig {
        api_base_url: fake.api_base_url(),
        token_url: Some(fake.token_url()),
        timeout: Duration::from_secs(5),
    };
    let client = GoogleClient::new(config, account.load(), Arc::new(SystemClock)).unwrap();
    // The stand-in requires aud to be its own URL, so the assertion followed the setting too.
    assert_eq!(client.upsert_class(&class()).await, GoogleOutcome::Done);
    assert_eq!(fake.token_requests(), 1);
}

#[tokio::test]
async fn upsert_inserts_a_missing_object_and_patches_an_existing_one() {
    let (Setup { fake, client, .. }, _) = manual().await;
    let before = fake.api_requests().len();
    assert_eq!(
        client.upsert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
    let path = object_path(1);
    let calls = methods(&fake).split_off(before);
    assert_eq!(
        calls,
        [
            ("PATCH".into(), path.clone()),
            ("POST".into(), "/walletobjects/v1/loyaltyObject".into()),
        ]
    );
    let mut changed = object(1, 25);
    changed["state"] = json!("ACTIVE");
    assert_eq!(client.upsert_object(&changed).await, GoogleOutcome::Done);
    let calls = methods(&fake).split_off(before + 2);
    assert_eq!(calls, [("PATCH".into(), path)]);
    let stored = fake.object(&object_id(1)).unwrap();
    assert_eq!(stored["loyaltyPoints"]["balance"]["int"], 25);
    assert_eq!(stored["classId"], CLASS_ID);
}

#[tokio::test]
async fn an_insert_that_finds_the_object_patches_it() {
    let (Setup { fake, client, .. }, _) = manual().await;
    assert_eq!(
        client.insert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
    assert_eq!(
        client.insert_object(&object(1, 40)).await,
        GoogleOutcome::Done
    );
    let statuses: Vec<_> = fake
        .api_requests()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        statuses[statuses.len() - 3..],
        [
            ("POST".into(), 200),
            ("POST".into(), 409),
            ("PATCH".into(), 200)
        ]
    );
    assert_eq!(
        fake.object(&object_id(1)).unwrap()["loyaltyPoints"]["balance"]["int"],
        40
    );
}

#[tokio::test]
async fn an_object_created_between_patch_and_insert_is_patched() {
    let (Setup { fake, client, .. }, _) = manual().await;
    assert_eq!(
        client.insert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
    // The PATCH sees "not found", then someone else's insert lands first.
    fake.fail_next(&object_path(1), 404, 1);
    assert_eq!(
        client.upsert_object(&object(1, 70)).await,
        GoogleOutcome::Done
    );
    let statuses: Vec<_> = fake
        .api_requests()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        statuses[statuses.len() - 3..],
        [
            ("PATCH".into(), 404),
            ("POST".into(), 409),
            ("PATCH".into(), 200)
        ]
    );
    assert_eq!(
        fake.object(&object_id(1)).unwrap()["loyaltyPoints"]["balance"]["int"],
        70
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_ask_for_a_retry_that_then_succeeds() {
    let (Setup { fake, client, .. }, _) = manual().await;
    let path = object_path(1);
    fake.script(
        &path,
        Scripted {
            status: 429,
            retry_after: Some(7),
        },
        1,
    );
    fake.fail_next(&path, 500, 1);
    let first = client.upsert_object(&object(1, 10)).await;
    assert_eq!(retry_status(&first), Some(429));
    assert!(
        matches!(first, GoogleOutcome::Retry { after: Some(d), .. } if d == Duration::from_secs(7))
    );
    let second = client.upsert_object(&object(1, 10)).await;
    assert_eq!(retry_status(&second), Some(500));
    assert_eq!(
        client.upsert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
    assert_eq!(
        fake.object(&object_id(1)).unwrap()["loyaltyPoints"]["balance"]["int"],
        10
    );
    let stats = client.stats();
    assert_eq!((stats.retry, stats.done), (2, 2));
}

#[tokio::test]
async fn a_token_endpoint_outage_is_retried() {
    let Setup { fake, client, .. } = setup().await;
    fake.fail_next("/token", 503, 1);
    let outcome = client.upsert_class(&class()).await;
    assert_eq!(retry_status(&outcome), Some(503));
    assert!(fake.api_requests().is_empty());
    assert_eq!(client.upsert_class(&class()).await, GoogleOutcome::Done);
    let stats = client.stats();
    assert_eq!((stats.token_failures, stats.token_refreshes), (1, 1));
}

#[tokio::test]
async fn callers_waiting_on_a_failed_token_request_share_its_failure() {
    let Setup { fake, client, .. } = setup().await;
    fake.fail_next("/token", 500, 1);
    let class = class();
    let outcomes = join_all((0..5).map(|_| client.upsert_class(&class))).await;
    for outcome in &outcomes {
        assert_eq!(retry_status(outcome), Some(500));
    }
    assert_eq!(
        fake.token_requests(),
        1,
        "one request, not one per waiting caller"
    );
    assert_eq!(client.upsert_class(&class).await, GoogleOutcome::Done);
    assert_eq!(fake.token_requests(), 2);
}

#[tokio::test]
async fn a_401_costs_one_token_refresh_and_then_succeeds() {
    let (Setup { fake, client, .. }, _) = manual().await;
    assert_eq!(
        client.insert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
    fake.fail_next(&object_path(1), 401, 1);
    assert_eq!(
        client.upsert_object(&object(1, 20)).await,
        GoogleOutcome::Done
    );
    let last_two: Vec<_> = fake.api_requests().into_iter().rev().take(2).collect();
    assert_eq!(last_two[1].status, 401);
    assert_eq!(last_two[1].bearer(), Some("test-1"));
    assert_eq!(
        (last_two[0].status, last_two[0].bearer()),
        (200, Some("test-2"))
    );
    assert_eq!(fake.tokens_issued(), 2);
    let stats = client.stats();
    assert_eq!(
        (stats.unauthorized_responses, stats.token_refreshes),
        (1, 2)
    );

    // A token refused twice is not refreshed again and again.
    fake.fail_next(&object_path(1), 401, 2);
    let outcome = client.upsert_object(&object(1, 30)).await;
    assert!(
        matches!(
            outcome,
            GoogleOutcome::Failed {
                status: Some(401),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.tokens_issued(), 3);
}

#[tokio::test]
async fn a_fourth_notifying_message_in_a_day_hits_the_quota() {
    let (Setup { fake, client, .. }, clock) = manual().await;
    let id = object_id(1);
    assert_eq!(
        client.insert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
    for n in 1..=3 {
        let outcome = client
            .add_message(&id, &message("TEXT_AND_NOTIFY", n))
            .await;
        assert_eq!(outcome, GoogleOutcome::Done);
        clock.advance(time::Duration::hours(1));
    }
    let fourth = client
        .add_message(&id, &message("TEXT_AND_NOTIFY", 4))
        .await;
    assert_eq!(fourth, GoogleOutcome::QuotaExceeded);
    // The caller falls back to a silent message.
    assert_eq!(
        client.add_message(&id, &message("TEXT", 4)).await,
        GoogleOutcome::Done
    );
    let bodies: Vec<_> = fake
        .messages(&id)
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(bodies, ["Message 1", "Message 2", "Message 3", "Message 4"]);
    assert_eq!(fake.messages(&id)[3]["messageType"], "TEXT");
    let sent = fake.api_requests().pop().unwrap();
    assert_eq!(sent.path, format!("{}/addMessage", object_path(1)));
    assert_eq!(sent.json(), json!({"message": message("TEXT", 4)}));
    assert_eq!(client.stats().quota_exceeded, 1);

    // A day after the first one, a notification is allowed again.
    clock.advance(time::Duration::hours(21) + time::Duration::minutes(1));
    assert_eq!(fake.notifications(&id), 2);
    let outcome = client
        .add_message(&id, &message("TEXT_AND_NOTIFY", 5))
        .await;
    assert_eq!(outcome, GoogleOutcome::Done);
}

#[tokio::test]
async fn a_rejected_body_fails_without_a_retry() {
    let (Setup { fake, client, .. }, _) = manual().await;
    fake.set_validator(Arc::new(|schema: &str, body: &Value| {
        if schema == "LoyaltyObject" && body["state"] != "ACTIVE" {
            return Err(vec![format!("{schema}.state: not an allowed value")]);
        }
        Ok(())
    }));
    let mut bad = object(1, 10);
    bad["state"] = json!("ASLEEP");
    let outcome = client.insert_object(&bad).await;
    let GoogleOutcome::Failed { status, reason } = outcome else {
        panic!("expected Failed, got {outcome:?}");
    };
    assert_eq!(status, Some(400));
    assert!(reason.contains("LoyaltyObject.state"), "{reason}");
    assert_eq!(
        client.insert_object(&object(1, 10)).await,
        GoogleOutcome::Done
    );
}

#[tokio::test]
async fn a_silent_api_times_out_into_a_retry() {
    // Accepts connections (the kernel does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/walletobjects/v1", silent.local_addr().unwrap());
    let Setup { fake, client, .. } = setup_with(Arc::new(SystemClock), |config| {
        config.api_base_url = base;
        config.timeout = Duration::from_millis(300);
    })
    .await;
    let outcome = client.upsert_class(&class()).await;
    assert_eq!(retry_status(&outcome), None);
    assert_eq!(fake.token_requests(), 1);
}

#[tokio::test]
async fn bad_ids_never_leave_the_process() {
    let Setup { fake, client, .. } = setup().await;
    let outcome = client
        .add_message("3388/../issuer", &message("TEXT", 1))
        .await;
    assert!(matches!(
        outcome,
        GoogleOutcome::Failed { status: None, .. }
    ));
    let outcome = client.upsert_object(&json!({"classId": CLASS_ID})).await;
    assert!(matches!(
        outcome,
        GoogleOutcome::Failed { status: None, .. }
    ));
    assert!(fake.requests().is_empty());
    assert_eq!(client.stats().failed, 2);
}

#[tokio::test]
async fn the_client_refuses_plain_http_to_other_hosts() {
    let account = TestServiceAccount::generate("http://127.0.0.1:9/token");
    let config = GoogleApiConfig {
        api_base_url: "http://walletobjects.googleapis.com/walletobjects/v1".into(),
        ..GoogleApiConfig::default()
    };
    let error = GoogleClient::new(config, account.load(), Arc::new(SystemClock)).unwrap_err();
    assert!(error.to_string().contains("https"), "{error}");
}
