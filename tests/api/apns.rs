//! The APNs client against the local stand-in (tests/support/fake_apns.rs): what arrives on
//! the wire, how each answer maps to an outcome, provider tokens, and the shared HTTP/2
//! connection (multiplexing, limits, GOAWAY, loss).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::X509;
use passwright::clock::{Clock as _, ManualClock, SharedClock, SystemClock};
use passwright::delivery::apns::{ApnsAuth, ApnsClient, ApnsConfig, PushOutcome};
use passwright::domain::apple_ids::{PassTypeId, TeamId};
use passwright::domain::device::PushToken;
use passwright::wallet::apple::PassSigner;

use crate::fake_apns::{FakeApns, FakeApnsOptions, FakeAuth, Reply};
use crate::helpers::{pki, PASS_TYPE_ID, TEAM_ID};

const WAIT: Duration = Duration::from_secs(5);
const KEY_ID: &str = "TESTKEY001";

fn topic() -> PassTypeId {
    PassTypeId::parse(PASS_TYPE_ID).unwrap()
}

fn token(n: u8) -> PushToken {
    PushToken::parse(&format!("{n:02x}").repeat(32)).unwrap()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().dir.join(name)).unwrap()
}

fn root() -> X509 {
    X509::from_pem(&read("root.pem")).unwrap()
}

fn certificate_auth() -> ApnsAuth {
    let signer = PassSigner::from_pem(
        &read("signer.pem"),
        &read("signer.key"),
        &read("wwdr.pem"),
        SystemClock.now(),
    )
    .unwrap();
    ApnsAuth::from_signer(&signer)
}

/// A P-256 key pair as the `.p8` file (PKCS#8) and the public key the stand-in checks with.
fn p8_key() -> (Vec<u8>, Vec<u8>) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    (
        key.private_key_to_pem_pkcs8().unwrap(),
        key.public_key_to_pem().unwrap(),
    )
}

fn token_auth(p8: &[u8]) -> ApnsAuth {
    ApnsAuth::Token {
        key_pem: p8.to_vec().into(),
        key_id: KEY_ID.into(),
        team_id: TeamId::parse(TEAM_ID).unwrap(),
    }
}

fn token_stand_in(public: Vec<u8>) -> FakeAuth {
    FakeAuth::Token {
        public_key_pem: public,
        key_id: KEY_ID.into(),
        team_id: TEAM_ID.into(),
    }
}

fn client_with(
    fake: &FakeApns,
    auth: ApnsAuth,
    clock: SharedClock,
    tweak: impl FnOnce(&mut ApnsConfig),
) -> ApnsClient {
    let mut config = ApnsConfig::new(fake.url(), auth);
    config.extra_ca = vec![fake.ca()];
    config.timeout = WAIT;
    config.connect_timeout = WAIT;
    tweak(&mut config);
    ApnsClient::new(config, clock).unwrap()
}

fn cert_client(fake: &FakeApns, tweak: impl FnOnce(&mut ApnsConfig)) -> ApnsClient {
    client_with(fake, certificate_auth(), Arc::new(SystemClock), tweak)
}

async fn cert_stand_in(tweak: impl FnOnce(&mut FakeApnsOptions)) -> FakeApns {
    let mut options = FakeApnsOptions::new(FakeAuth::Certificate { trust: root() });
    tweak(&mut options);
    FakeApns::start(options).await
}

fn is_delivered(outcome: &PushOutcome) -> bool {
    matches!(outcome, PushOutcome::Delivered { apns_id: Some(_) })
}

/// A clock at the real time (the stand-in's certificates are checked against it), whole seconds.
fn manual_clock() -> ManualClock {
    let now = passwright::clock::system_now();
    ManualClock::at(now.replace_nanosecond(0).unwrap())
}

#[tokio::test]
async fn a_certificate_push_arrives_as_apple_expects() {
    let fake = cert_stand_in(|_| {}).await;
    let client = cert_client(&fake, |_| {});

    let outcome = client.push(&topic(), &token(1)).await;

    assert!(is_delivered(&outcome), "{outcome:?}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/3/device/{}", token(1).as_str()));
    assert_eq!(r.topic.as_deref(), Some(PASS_TYPE_ID));
    assert_eq!(r.push_type.as_deref(), Some("background"));
    assert_eq!(r.priority.as_deref(), Some("5"));
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body, b"{}");
    assert_eq!(r.authorization, None);
    assert_eq!(r.status, Some(200));
    let stats = client.stats();
    assert_eq!(
        (stats.delivered, stats.connections, stats.in_flight),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_and_told_to_retry() {
    let fake = cert_stand_in(|_| {}).await;
    let (p8, _) = p8_key();
    let client = client_with(&fake, token_auth(&p8), Arc::new(SystemClock), |_| {});

    let outcome = client.push(&topic(), &token(1)).await;

    assert!(
        matches!(outcome, PushOutcome::Retry { status: None, .. }),
        "{outcome:?}"
    );
    assert!(fake.wait_for_handshake_failures(1, WAIT).await);
    assert!(fake.requests().is_empty());
    assert_eq!(fake.connections(), 0);
    assert_eq!(client.stats().retry, 1);
}

#[tokio::test]
async fn an_unreachable_server_is_not_hammered() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = ApnsConfig::new(format!("https://127.0.0.1:{port}"), certificate_auth());
    config.connect_timeout = WAIT;
    let client = ApnsClient::new(config, Arc::new(SystemClock)).unwrap();

    for _ in 0..10 {
        let outcome = client.push(&topic(), &token(1)).await;
        assert!(
            matches!(outcome, PushOutcome::Retry { after: Some(_), .. }),
            "{outcome:?}"
        );
    }
    // Back-off (100 ms, then 200 ms, ...) lets only the first attempts through.
    let failures = client.stats().connect_failures;
    assert!(
        (1..=3).contains(&failures),
        "{failures} connection attempts"
    );
}

#[tokio::test]
async fn a_provider_token_is_reused_and_replaced_after_forty_minutes() {
    let (p8, public) = p8_key();
    let clock = manual_clock();
    let mut options = FakeApnsOptions::new(token_stand_in(public));
    options.clock = Arc::new(clock.clone());
    let fake = FakeApns::start(options).await;
    let client = client_with(&fake, token_auth(&p8), Arc::new(clock.clone()), |_| {});

    for n in 1..=2 {
        assert!(is_delivered(&client.push(&topic(), &token(n)).await));
    }
    clock.advance(time::Duration::minutes(30));
    assert!(is_delivered(&client.push(&topic(), &token(3)).await));
    clock.advance(time::Duration::minutes(11));
    assert!(is_delivered(&client.push(&topic(), &token(4)).await));
    clock.advance(time::Duration::minutes(10));
    assert!(is_delivered(&client.push(&topic(), &token(5)).await));

    let jwts: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.jwt().unwrap().to_owned())
        .collect();
    assert_eq!(jwts.len(), 5);
    assert!(
        jwts[..3].iter().all(|j| *j == jwts[0]),
        "reused for 30 minutes"
    );
    assert_ne!(jwts[3], jwts[0], "replaced at 41 minutes");
    assert_eq!(jwts[4], jwts[3], "kept for the next 10 minutes");
}

#[tokio::test]
async fn an_expired_provider_token_is_replaced_once() {
    let (p8, public) = p8_key();
    let clock = manual_clock();
    let mut options = FakeApnsOptions::new(token_stand_in(public));
    options.clock = Arc::new(clock.clone());
    let fake = FakeApns::start(options).await;
    let client = client_with(&fake, token_auth(&p8), Arc::new(clock.clone()), |_| {});
    fake.script(
        token(1).as_str(),
        [Reply::error(403, "ExpiredProviderToken")],
    );
    clock.advance(time::Duration::minutes(5));

    let outcome = client.push(&topic(), &token(1)).await;

    assert!(is_delivered(&outcome), "{outcome:?}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].status, Some(403));
    assert_ne!(requests[0].jwt(), requests[1].jwt());
    let stats = client.stats();
    assert_eq!((stats.forbidden_responses, stats.forbidden), (1, 0));
}

#[tokio::test]
async fn a_provider_token_apns_keeps_refusing_stops_pushes() {
    let (p8, public) = p8_key();
    let clock = manual_clock();
    // The stand-in's clock is two hours ahead: every token looks expired to it.
    let mut options = FakeApnsOptions::new(token_stand_in(public));
    options.clock = Arc::new(ManualClock::at(clock.now() + time::Duration::hours(2)));
    let fake = FakeApns::start(options).await;
    let client = client_with(&fake, token_auth(&p8), Arc::new(clock.clone()), |_| {});
    clock.advance(time::Duration::minutes(1));

    let outcome = client.push(&topic(), &token(1)).await;
    let again = client.push(&topic(), &token(2)).await;

    let expired = PushOutcome::Forbidden {
        reason: "ExpiredProviderToken".into(),
    };
    assert_eq!(outcome, expired);
    assert_eq!(again, expired);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "one new token, then a pause");
    assert_ne!(requests[0].jwt(), requests[1].jwt());
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_forbidden() {
    let (p8, _) = p8_key();
    let (_, other_public) = p8_key();
    let fake = FakeApns::start(FakeApnsOptions::new(token_stand_in(other_public))).await;
    let client = client_with(&fake, token_auth(&p8), Arc::new(SystemClock), |_| {});

    let outcome = client.push(&topic(), &token(1)).await;

    assert_eq!(
        outcome,
        PushOutcome::Forbidden {
            reason: "InvalidProviderToken".into()
        }
    );
}

#[tokio::test]
async fn apns_answers_map_to_outcomes() {
    let fake = cert_stand_in(|_| {}).await;
    let client = cert_client(&fake, |_| {});
    let gone_at = time::macros::datetime!(2026-02-03 04:05:06.789 UTC);
    fake.script(token(1).as_str(), [Reply::unregistered(gone_at)]);
    fake.script(token(2).as_str(), [Reply::error(400, "BadDeviceToken")]);
    fake.script(
        token(3).as_str(),
        [
            Reply::error(429, "TooManyRequests"),
            Reply::error(503, "ServiceUnavailable"),
        ],
    );
    fake.script(
        token(4).as_str(),
        [Reply::error(400, "DeviceTokenNotForTopic")],
    );

    assert_eq!(
        client.push(&topic(), &token(1)).await,
        PushOutcome::Unregistered {
            since: Some(gone_at)
        }
    );
    assert_eq!(
        client.push(&topic(), &token(2)).await,
        PushOutcome::BadDeviceToken
    );
    for (status, reason) in [(429, "TooManyRequests"), (503, "ServiceUnavailable")] {
        let outcome = client.push(&topic(), &token(3)).await;
        assert!(
            matches!(&outcome, PushOutcome::Retry { status: Some(s), reason: r, .. } if *s == status && r == reason),
            "{outcome:?}"
        );
    }
    assert!(is_delivered(&client.push(&topic(), &token(3)).await));
    assert_eq!(
        client.push(&topic(), &token(4)).await,
        PushOutcome::Rejected {
            status: 400,
            reason: "DeviceTokenNotForTopic".into()
        }
    );
    assert_eq!(
        fake.count_for(token(3).as_str()),
        3,
        "no retries inside push"
    );
    let stats = client.stats();
    assert_eq!(
        (
            stats.unregistered,
            stats.bad_device_token,
            stats.retry,
            stats.delivered,
            stats.rejected
        ),
        (1, 1, 2, 1, 1)
    );
}

#[tokio::test]
async fn a_topic_other_than_the_certificates_is_disallowed() {
    let fake = cert_stand_in(|_| {}).await;
    let client = cert_client(&fake, |_| {});
    let other = PassTypeId::parse("pass.com.example.someone-else").unwrap();

    assert_eq!(
        client.push(&other, &token(1)).await,
        PushOutcome::Rejected {
            status: 400,
            reason: "TopicDisallowed".into()
        }
    );
}

#[tokio::test]
async fn a_forbidden_certificate_pauses_pushes() {
    let fake = cert_stand_in(|_| {}).await;
    let clock = manual_clock();
    let client = client_with(&fake, certificate_auth(), Arc::new(clock.clone()), |_| {});
    fake.script(token(1).as_str(), [Reply::error(403, "BadCertificate")]);
    let forbidden = PushOutcome::Forbidden {
        reason: "BadCertificate".into(),
    };

    assert_eq!(client.push(&topic(), &token(1)).await, forbidden);
    clock.advance(time::Duration::seconds(59));
    assert_eq!(client.push(&topic(), &token(2)).await, forbidden);
    assert_eq!(fake.requests().len(), 1, "the second push was not sent");

    clock.advance(time::Duration::seconds(2));
    assert!(is_delivered(&client.push(&topic(), &token(2)).await));
    let stats = client.stats();
    assert_eq!((stats.forbidden, stats.forbidden_responses), (2, 1));
}

#[tokio::test]
async fn concurrent_pushes_share_one_connection_within_the_bound() {
    let fake = cert_stand_in(|o| o.delay = Duration::from_millis(50)).await;
    let client = cert_client(&fake, |c| c.max_in_flight = 4);

    let outcomes = join_all((0..24).map(|n| {
        let client = client.clone();
        async move { client.push(&topic(), &token(n)).await }
    }))
    .await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(fake.connections(), 1);
    let most = fake.max_seen_in_flight();
    assert!(most > 1 && most <= 4, "{most} requests in flight at once");
    assert_eq!(client.stats().in_flight, 0);
}

#[tokio::test]
async fn pushes_are_spread_over_the_configured_connections() {
    let fake = cert_stand_in(|o| o.delay = Duration::from_millis(50)).await;
    let client = cert_client(&fake, |c| {
        c.max_in_flight = 6;
        c.connections = 3;
    });

    let outcomes = join_all((0..24).map(|n| {
        let client = client.clone();
        async move { client.push(&topic(), &token(n)).await }
    }))
    .await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(fake.connections(), 3);
    assert_eq!(client.stats().connections, 3);
    let mut per_connection = std::collections::BTreeMap::new();
    for r in fake.requests() {
        *per_connection.entry(r.connection).or_insert(0) += 1;
    }
    // Taken in turn: eight pushes on each.
    assert_eq!(per_connection.values().collect::<Vec<_>>(), [&8, &8, &8]);
    let most = fake.max_seen_in_flight();
    assert!(most > 1 && most <= 6, "{most} requests in flight at once");
}

#[tokio::test]
async fn the_servers_stream_limit_is_honoured() {
    let fake = cert_stand_in(|o| {
        o.delay = Duration::from_millis(30);
        o.max_concurrent_streams = Some(2);
    })
    .await;
    let client = cert_client(&fake, |c| c.max_in_flight = 50);

    let outcomes = join_all((0..12).map(|n| {
        let client = client.clone();
        async move { client.push(&topic(), &token(n)).await }
    }))
    .await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(fake.max_seen_in_flight(), 2);
    assert_eq!(
        fake.requests().len(),
        12,
        "no stream was refused and resent"
    );
}

#[tokio::test]
async fn goaway_moves_pushes_to_a_new_connection() {
    let fake = cert_stand_in(|o| o.goaway_after = Some(3)).await;
    let client = cert_client(&fake, |_| {});

    for n in 0..10 {
        let outcome = client.push(&topic(), &token(n)).await;
        assert!(is_delivered(&outcome), "push {n}: {outcome:?}");
    }

    assert!(
        fake.connections() >= 3,
        "{} connections",
        fake.connections()
    );
    for n in 0..10 {
        assert_eq!(fake.count_for(token(n).as_str()), 1);
    }
    assert_eq!(client.stats().connections as usize, fake.connections());
}

#[tokio::test]
async fn goaway_during_a_fan_out_loses_no_push() {
    let fake = cert_stand_in(|o| {
        o.goaway_after = Some(10);
        o.delay = Duration::from_millis(5);
    })
    .await;
    let client = cert_client(&fake, |c| c.max_in_flight = 4);

    let outcomes = join_all((0..40).map(|n| {
        let client = client.clone();
        async move { client.push(&topic(), &token(n)).await }
    }))
    .await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert!(
        fake.connections() >= 4,
        "{} connections",
        fake.connections()
    );
}

#[tokio::test]
async fn a_dropped_connection_is_replaced() {
    let fake = cert_stand_in(|o| o.drop_after = Some(2)).await;
    let client = cert_client(&fake, |_| {});

    for n in 1..=5 {
        let outcome = client.push(&topic(), &token(n)).await;
        assert!(is_delivered(&outcome), "push {n}: {outcome:?}");
    }

    // Pushes 3 and 5 each met a connection being cut and went again on a new one.
    assert_eq!(fake.connections(), 3);
    assert_eq!(fake.count_for(token(3).as_str()), 2);
    assert_eq!(fake.count_for(token(5).as_str()), 2);
    let cut: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.status.is_none())
        .collect();
    assert_eq!(cut.len(), 2);
}

#[tokio::test]
async fn a_slow_answer_is_a_retry() {
    let fake = cert_stand_in(|o| o.delay = Duration::from_secs(3)).await;
    let client = cert_client(&fake, |c| c.timeout = Duration::from_millis(200));

    let outcome = client.push(&topic(), &token(1)).await;

    assert!(
        matches!(&outcome, PushOutcome::Retry { status: None, reason, .. } if reason.contains("no answer")),
        "{outcome:?}"
    );
    assert!(fake.wait_for(1, WAIT).await);
}
