//! What a Google Wallet API answer means for the caller: one [`GoogleOutcome`] per operation,
//! decided from the status code and Google's JSON error body
//! (`{"error": {"code", "message", "status", "errors": [{"reason", …}]}}`).

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use time::OffsetDateTime;

/// How long reasons taken from Google's error bodies may get in logs and outcomes.
const MAX_REASON: usize = 300;

/// The result of one operation, already mapped to what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoogleOutcome {
    /// 2xx: Google has the change.
    Done,
    /// 429 (other than the notification quota), 5xx, timeouts, transport failures, and a
    /// token endpoint that is down or refuses us: try again later, after `after` if given.
    Retry {
        status: Option<u16>,
        reason: String,
        after: Option<Duration>,
    },
    /// Any other 4xx (or a request we cannot even build): the request is wrong, retrying the
    /// same one cannot help.
    Failed { status: Option<u16>, reason: String },
    /// Google refused a notifying change (a `TEXT_AND_NOTIFY` message, or a notifying field
    /// update) because the pass had its 3 notifications in 24 hours: send it silently.
    QuotaExceeded,
}

impl GoogleOutcome {
    /// A stable name for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            GoogleOutcome::Done => "done",
            GoogleOutcome::Retry { .. } => "retry",
            GoogleOutcome::Failed { .. } => "failed",
            GoogleOutcome::QuotaExceeded => "quota_exceeded",
        }
    }

    pub(super) fn retry(reason: impl Into<String>, after: Option<Duration>) -> Self {
        GoogleOutcome::Retry {
            status: None,
            reason: reason.into(),
            after,
        }
    }

    pub(super) fn failed(reason: impl Into<String>) -> Self {
        GoogleOutcome::Failed {
            status: None,
            reason: reason.into(),
        }
    }
}

/// The parts of an HTTP answer the mapping looks at.
#[derive(Debug, Clone, Default)]
pub(super) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorDetail {
    message: Option<String>,
    status: Option<String>,
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorItem {
    reason: Option<String>,
}

pub(super) fn classify(answer: &Answer) -> GoogleOutcome {
    let status = answer.status;
    if (200..300).contains(&status) {
        return GoogleOutcome::Done;
    }
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    if (400..500).contains(&status) && is_notification_quota(&body.error) {
        return GoogleOutcome::QuotaExceeded;
    }
    let reason = reason(status, &body.error);
    match status {
        408 | 429 | 500..=599 => GoogleOutcome::Retry {
            status: Some(status),
            reason,
            after: answer.retry_after,
        },
        400..=499 => GoogleOutcome::Failed {
            status: Some(status),
            reason,
        },
        // Redirects are not followed and 1xx never reaches us: a proxy's oddity, transient.
        _ => GoogleOutcome::Retry {
            status: Some(status),
            reason,
            after: answer.retry_after,
        },
    }
}

/// Google has been seen refusing a fourth notifying message with 403 and
/// `errors[].reason = "quotaExceeded"` ("Quota exceeded for issuer … when adding TEXT_AND_NOTIFY
/// message to …"); its notification guide calls it `QuotaExceededException`. Either marker
/// counts, on any 4xx; a plain 429 (`rateLimitExceeded`, `RESOURCE_EXHAUSTED`) is a request
/// rate limit and stays [`GoogleOutcome::Retry`].
fn is_notification_quota(error: &ErrorDetail) -> bool {
    let by_reason = error
        .errors
        .iter()
        .filter_map(|item| item.reason.as_deref())
        .any(|reason| reason.eq_ignore_ascii_case("quotaExceeded"));
    let by_name = [error.message.as_deref(), error.status.as_deref()]
        .into_iter()
        .flatten()
        .any(|text| text.contains("QuotaExceededException"));
    by_reason || by_name
}

fn reason(status: u16, error: &ErrorDetail) -> String {
    let text = match (&error.status, &error.message) {
        (Some(s), Some(m)) => format!("{s}: {m}"),
        (Some(s), None) => s.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => format!("HTTP {status}"),
    };
    shorten(text)
}

pub(super) fn shorten(mut text: String) -> String {
    if text.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// `Retry-After` as delta-seconds or an HTTP date, relative to `now`.
pub(super) fn retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = OffsetDateTime::from(at);
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status,
            retry_after: Some(Duration::from_secs(3)),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn the_notification_quota_is_told_apart_from_rate_limits() {
        // The body Google answered a fourth TEXT_AND_NOTIFY message with.
        let quota = json!({"error": {
            "code": 403,
            "message": "Quota exceeded for issuer 3388 when adding TEXT_AND_NOTIFY message to class 3388.gold.",
            "errors": [{"message": "Quota exceeded …", "domain": "walletobjects", "reason": "quotaExceeded"}],
        }});
        assert_eq!(classify(&answer(403, quota)), GoogleOutcome::QuotaExceeded);
        let named = json!({"error": {"code": 429, "message": "QuotaExceededException: too many"}});
        assert_eq!(classify(&answer(429, named)), GoogleOutcome::QuotaExceeded);

        let rate = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow down",
            "errors": [{"reason": "rateLimitExceeded"}]}});
        assert_eq!(
            classify(&answer(429, rate)),
            GoogleOutcome::Retry {
                status: Some(429),
                reason: "RESOURCE_EXHAUSTED: slow down".into(),
                after: Some(Duration::from_secs(3)),
            }
        );
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(classify(&answer(200, json!({}))), GoogleOutcome::Done);
        let missing = json!({"error": {"code": 404, "message": "Wallet Object x not found.", "status": "NOT_FOUND"}});
        assert_eq!(
            classify(&answer(404, missing)),
            GoogleOutcome::Failed {
                status: Some(404),
                reason: "NOT_FOUND: Wallet Object x not found.".into(),
            }
        );
        let odd = Answer {
            status: 503,
            retry_after: None,
            body: Bytes::from_static(b"<html>busy</html>"),
        };
        assert_eq!(
            classify(&odd),
            GoogleOutcome::Retry {
                status: Some(503),
                reason: "HTTP 503".into(),
                after: None
            }
        );
        assert_eq!(shorten("é".repeat(400)).chars().count(), 151);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = time::macros::datetime!(2026-03-01 12:00 UTC);
        assert_eq!(retry_after(" 30 ", now), Some(Duration::from_secs(30)));
        assert_eq!(
            retry_after("Sun, 01 Mar 2026 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
