//! Shared helpers of the outgoing-webhook tests (webhooks_*.rs): endpoints made and patched
//! through the API, the outbox drained, and a delivery's signature, envelope and metrics
//! checked the way a receiver would.

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::*;
use crate::webhook_receiver::Received;

pub async fn drain(app: &TestApp) -> usize {
    app.state.outbox.drain().await.unwrap()
}

/// Creates an endpoint for `program` taking `events`; returns (id, secret).
pub async fn endpoint(app: &TestApp, program: &str, url: &str, events: Value) -> (String, String) {
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

pub async fn patch(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    app.send(Method::PATCH, path, Some(key), Some(&body), &[])
        .await
}

/// Checks `Passwright-Signature` the way a receiver would, with its own HMAC: the timestamp
/// and the raw body under the endpoint's secret. Returns the timestamp.
pub fn verify(r: &Received, secret: &str) -> i64 {
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
pub fn check_envelope(r: &Received, program: &str) -> Value {
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

pub fn metric(metrics: &str, outcome: &str) -> String {
    let prefix = format!("passwright_webhook_deliveries_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {metrics}"))
        .to_string()
}
