//! POSTing webhook events to endpoints: the Stripe-style signature and one HTTP attempt, whose
//! answer becomes a [`WebhookOutcome`] the outbox acts on.
//!
//! `Passwright-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//! The timestamp is part of what is signed, so a receiver that refuses old timestamps also
//! refuses a replayed delivery.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `Passwright-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = Vec::with_capacity(body.len() + 21);
    signed.extend_from_slice(timestamp.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!(
        "t={timestamp},v1={}",
        hmac_sha256_hex(secret.as_bytes(), &signed)
    )
}

fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// 410 Gone: the receiver wants no more deliveries to this URL.
    Gone,
    /// Any other answer, a timeout or a connection failure: worth trying again.
    Retry { reason: String },
}

/// One delivery: the event's id and type for the headers, and the exact body that is signed.
pub struct Delivery<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub body: &'a [u8],
    /// Unix seconds, from the application's clock.
    pub timestamp: i64,
}

/// Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    timeout: Duration,
}

impl WebhookClient {
    /// `timeout` bounds each attempt, connecting included.
    pub fn new(timeout: Duration) -> anyhow::Result<WebhookClient> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirected POST may turn into a GET elsewhere; receivers answer where they are.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("passwright/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("building the webhook HTTP client: {e}"))?;
        Ok(WebhookClient { http, timeout })
    }

    pub async fn send(&self, d: &Delivery<'_>) -> WebhookOutcome {
        let result = self
            .http
            .post(d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Passwright-Event", d.event_type)
            .header("Passwright-Delivery", d.event_id)
            .header(
                "Passwright-Signature",
                signature(d.secret, d.timestamp, d.body),
            )
            .body(d.body.to_vec())
            .send()
            .await;
        match result {
            Ok(resp) => classify(resp.status().as_u16()),
            Err(e) if e.is_timeout() => WebhookOutcome::Retry {
                reason: format!("no answer within {} ms", self.timeout.as_millis()),
            },
            Err(e) => WebhookOutcome::Retry {
                reason: describe(e),
            },
        }
    }
}

fn classify(status: u16) -> WebhookOutcome {
    match status {
        200..=299 => WebhookOutcome::Delivered { status },
        410 => WebhookOutcome::Gone,
        300..=399 => WebhookOutcome::Retry {
            reason: format!("HTTP {status} (redirects are not followed)"),
        },
        _ => WebhookOutcome::Retry {
            reason: format!("HTTP {status}"),
        },
    }
}

/// The error and its causes, without the URL (its query may carry the receiver's token).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        let sig = signature("whsec_test", 1_700_000_000, br#"{"id":"evt_x"}"#);
        let expected = hmac_sha256_hex(b"whsec_test", br#"1700000000.{"id":"evt_x"}"#);
        assert_eq!(sig, format!("t=1700000000,v1={expected}"));
        assert_eq!(expected.len(), 64);
        assert_ne!(
            sig,
            signature("whsec_test", 1_700_000_001, br#"{"id":"evt_x"}"#)
        );
        assert_ne!(
            sig,
            signature("whsec_test", 1_700_000_000, br#"{"id":"evt_y"}"#)
        );
        assert_ne!(
            sig,
            signature("whsec_other", 1_700_000_000, br#"{"id":"evt_x"}"#)
        );
    }

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(classify(204), WebhookOutcome::Delivered { status: 204 });
        assert_eq!(classify(410), WebhookOutcome::Gone);
        assert!(matches!(classify(404), WebhookOutcome::Retry { .. }));
        assert!(matches!(classify(503), WebhookOutcome::Retry { .. }));
        assert!(
            matches!(classify(301), WebhookOutcome::Retry { reason } if reason.contains("redirect"))
        );
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_retried_with_a_reason() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = WebhookClient::new(Duration::from_secs(2)).unwrap();
        let url = format!("http://127.0.0.1:{port}/hook?token=abc");
        let outcome = client
            .send(&Delivery {
                url: &url,
                secret: "whsec_test",
                event_id: "evt_x",
                event_type: "points.changed",
                body: b"{}",
                timestamp: 1,
            })
            .await;
        let WebhookOutcome::Retry { reason } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(!reason.is_empty());
        assert!(!reason.contains("token=abc"), "{reason}");
    }
}
