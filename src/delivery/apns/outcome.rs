//! What an APNs answer means for the caller (apple-webservice.md B.5): one [`PushOutcome`]
//! per push, decided from the status code and the `reason` of the JSON error body.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use time::OffsetDateTime;

/// The result of one push, already mapped to what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// 200: APNs accepted the push.
    Delivered { apns_id: Option<String> },
    /// 410: the token is no longer valid for the topic, since `since` when APNs says so.
    /// Delete the registration unless it was made again after `since`.
    Unregistered { since: Option<OffsetDateTime> },
    /// 400 `BadDeviceToken`: malformed token or one from the sandbox environment. The caller
    /// keeps the registration and records it; many at once point at a misconfiguration.
    BadDeviceToken,
    /// Any other 4xx except 403 and 429 (`DeviceTokenNotForTopic`, `TopicDisallowed`,
    /// `BadPath`, `PayloadTooLarge`, ...): our request is wrong, retrying cannot help.
    Rejected { status: u16, reason: String },
    /// 403: the certificate or provider token is not accepted. Sending stops for a while.
    Forbidden { reason: String },
    /// 429, 5xx, timeouts and transport failures: try again later, after `after` if given.
    Retry {
        status: Option<u16>,
        reason: String,
        after: Option<Duration>,
    },
}

impl PushOutcome {
    /// A stable name for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            PushOutcome::Delivered { .. } => "delivered",
            PushOutcome::Unregistered { .. } => "unregistered",
            PushOutcome::BadDeviceToken => "bad_device_token",
            PushOutcome::Rejected { .. } => "rejected",
            PushOutcome::Forbidden { .. } => "forbidden",
            PushOutcome::Retry { .. } => "retry",
        }
    }

    pub(super) fn retry(reason: impl Into<String>, after: Option<Duration>) -> Self {
        PushOutcome::Retry {
            status: None,
            reason: reason.into(),
            after,
        }
    }
}

/// The parts of an HTTP/2 response the mapping looks at.
#[derive(Debug, Clone, Default)]
pub(super) struct Answer {
    pub status: u16,
    pub apns_id: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

/// `{"reason": "...", "timestamp": <ms>}`; both optional so a surprising body still maps.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    reason: Option<String>,
    timestamp: Option<i64>,
}

pub(super) fn classify(answer: Answer) -> PushOutcome {
    let status = answer.status;
    if (200..300).contains(&status) {
        return PushOutcome::Delivered {
            apns_id: answer.apns_id,
        };
    }
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let reason = body.reason.unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        410 => PushOutcome::Unregistered {
            since: body.timestamp.and_then(from_millis),
        },
        400 if reason == "BadDeviceToken" => PushOutcome::BadDeviceToken,
        403 => PushOutcome::Forbidden { reason },
        408 | 429 | 500..=599 => PushOutcome::Retry {
            status: Some(status),
            reason,
            after: answer.retry_after,
        },
        400..=499 => PushOutcome::Rejected { status, reason },
        // 1xx/3xx are not part of the APNs protocol: treat as a transient oddity.
        _ => PushOutcome::Retry {
            status: Some(status),
            reason,
            after: answer.retry_after,
        },
    }
}

/// Whether a 403 reason concerns the provider token (regenerating it may help).
pub(super) fn is_provider_token_problem(reason: &str) -> bool {
    matches!(reason, "ExpiredProviderToken" | "InvalidProviderToken")
}

fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: Bytes::copy_from_slice(body.as_bytes()),
            ..Answer::default()
        }
    }

    #[test]
    fn success_keeps_the_apns_id() {
        let mut ok = answer(200, "");
        ok.apns_id = Some("A1B2".into());
        assert_eq!(
            classify(ok),
            PushOutcome::Delivered {
                apns_id: Some("A1B2".into())
            }
        );
    }

    #[test]
    fn gone_carries_the_timestamp() {
        let outcome = classify(answer(
            410,
            r#"{"reason":"Unregistered","timestamp":1700000000123}"#,
        ));
        let since = time::macros::datetime!(2023-11-14 22:13:20.123 UTC);
        assert_eq!(outcome, PushOutcome::Unregistered { since: Some(since) });
        assert_eq!(
            classify(answer(410, r#"{"reason":"Unregistered"}"#)),
            PushOutcome::Unregistered { since: None }
        );
    }

    #[test]
    fn bad_requests_are_told_apart() {
        assert_eq!(
            classify(answer(400, r#"{"reason":"BadDeviceToken"}"#)),
            PushOutcome::BadDeviceToken
        );
        for (status, reason) in [
            (400, "DeviceTokenNotForTopic"),
            (400, "TopicDisallowed"),
            (404, "BadPath"),
            (405, "MethodNotAllowed"),
            (413, "PayloadTooLarge"),
        ] {
            let body = format!(r#"{{"reason":"{reason}"}}"#);
            assert_eq!(
                classify(answer(status, &body)),
                PushOutcome::Rejected {
                    status,
                    reason: reason.into()
                }
            );
        }
    }

    #[test]
    fn forbidden_and_transient_answers() {
        assert_eq!(
            classify(answer(403, r#"{"reason":"BadCertificate"}"#)),
            PushOutcome::Forbidden {
                reason: "BadCertificate".into()
            }
        );
        for (status, reason) in [
            (429, "TooManyRequests"),
            (500, "InternalServerError"),
            (503, "ServiceUnavailable"),
        ] {
            let mut a = answer(status, &format!(r#"{{"reason":"{reason}"}}"#));
            a.retry_after = Some(Duration::from_secs(3));
            assert_eq!(
                classify(a),
                PushOutcome::Retry {
                    status: Some(status),
                    reason: reason.into(),
                    after: Some(Duration::from_secs(3)),
                }
            );
        }
    }

    #[test]
    fn bodies_that_are_not_json_still_map() {
        assert_eq!(
            classify(answer(400, "<html>")),
            PushOutcome::Rejected {
                status: 400,
                reason: "HTTP 400".into()
            }
        );
        assert_eq!(classify(answer(503, "")).label(), "retry");
    }

    #[test]
    fn only_token_reasons_invite_a_new_token() {
        assert!(is_provider_token_problem("ExpiredProviderToken"));
        assert!(is_provider_token_problem("InvalidProviderToken"));
        assert!(!is_provider_token_problem("MissingProviderToken"));
        assert!(!is_provider_token_problem("BadCertificate"));
    }
}
