//! Access tokens for the walletobjects API through the OAuth 2.0 JWT-bearer grant
//! (google-wallet.md §6): an RS256 assertion signed with the service-account key is traded at
//! the token endpoint for a bearer token, which is cached until shortly before it expires.
//! One request at a time: callers arriving during a refresh wait for it and share its result.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::outcome::{retry_after, shorten, GoogleOutcome};
use super::service_account::ServiceAccount;
use super::stats::{bump, Counters};
use crate::clock::SharedClock;

/// The only scope passwright asks for.
pub const WALLET_SCOPE: &str = "https://www.googleapis.com/auth/wallet_object.issuer";
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// google-auth's default assertion lifetime, also the most Google accepts.
const ASSERTION_LIFETIME_SECS: i64 = 3600;
/// A token is replaced this long before it expires, or at 90% of a shorter lifetime, so a
/// request never leaves with a token about to lapse.
const MAX_MARGIN: time::Duration = time::Duration::minutes(5);
/// Assumed when the endpoint gives no `expires_in` (Google always does).
const DEFAULT_LIFETIME_SECS: u64 = 3600;
const MAX_LIFETIME_SECS: u64 = 86_400;
/// After the token endpoint refuses our credentials: an operator has to act, so there is no
/// point asking again soon.
pub(super) const REFUSED_RETRY_AFTER: Duration = Duration::from_secs(300);

/// An access token. Clones share it; `Debug` does not show it.
#[derive(Clone)]
pub(super) struct Bearer(Arc<SecretString>);

impl Bearer {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn is(&self, other: &Bearer) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(..)")
    }
}

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenError {
    /// Unreachable, too slow, 429, 5xx or an answer we cannot read: may pass.
    Unavailable {
        status: Option<u16>,
        reason: String,
        after: Option<Duration>,
    },
    /// A 4xx: the key, the account or the settings are wrong.
    Refused { status: Option<u16>, reason: String },
}

impl TokenError {
    pub fn into_outcome(self) -> GoogleOutcome {
        match self {
            TokenError::Unavailable {
                status,
                reason,
                after,
            } => GoogleOutcome::Retry {
                status,
                reason: format!("no Google access token: {reason}"),
                after,
            },
            // Retried rather than failed: every job would fail alike until the credentials
            // are fixed, and none of them is at fault.
            TokenError::Refused { status, reason } => GoogleOutcome::Retry {
                status,
                reason: format!("Google's token endpoint refuses the service account: {reason}"),
                after: Some(REFUSED_RETRY_AFTER),
            },
        }
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    expires_in: Option<Seconds>,
    token_type: Option<String>,
}

/// Some servers send `expires_in` as a string (google-auth's `_parse_expiry` accepts both).
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    fn value(&self) -> Option<u64> {
        match self {
            Seconds::Number(n) => Some(*n),
            Seconds::Text(text) => text.trim().parse().ok(),
        }
    }
}

/// `{"error": "invalid_grant", "error_description": "…"}` (RFC 6749 §5.2).
#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenRefusal {
    error: Option<String>,
    error_description: Option<String>,
}

struct Cached {
    bearer: Bearer,
    refresh_at: OffsetDateTime,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// How the latest request ended, if it failed: handed to callers who waited for it.
    last_error: Option<TokenError>,
}

pub(super) struct TokenSource {
    account: Arc<ServiceAccount>,
    url: String,
    http: reqwest::Client,
    clock: SharedClock,
    counters: Arc<Counters>,
    /// Token requests completed; lets a waiter tell whether one ended while it waited.
    completed: AtomicU64,
    state: Mutex<State>,
}

impl TokenSource {
    pub fn new(
        account: Arc<ServiceAccount>,
        url: String,
        http: reqwest::Client,
        clock: SharedClock,
        counters: Arc<Counters>,
    ) -> TokenSource {
        TokenSource {
            account,
            url,
            http,
            clock,
            counters,
            completed: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A token good for a while yet: the cached one, or a new one.
    pub async fn get(&self) -> Result<Bearer, TokenError> {
        let seen = self.completed.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if let Some(cached) = &state.cached {
            if now < cached.refresh_at {
                return Ok(cached.bearer.clone());
            }
        }
        // A request that ended while we waited for the lock failed: share its answer
        // rather than queueing one more request each.
        if self.completed.load(Ordering::Acquire) != seen {
            if let Some(error) = &state.last_error {
                return Err(error.clone());
            }
        }
        let result = self.fetch(now).await;
        self.completed.fetch_add(1, Ordering::Release);
        match result {
            Ok((bearer, lifetime)) => {
                bump(&self.counters.token_refreshes);
                tracing::info!(expires_in = lifetime, "new Google access token");
                state.cached = Some(Cached {
                    bearer: bearer.clone(),
                    refresh_at: refresh_at(now, lifetime),
                });
                state.last_error = None;
                Ok(bearer)
            }
            Err(error) => {
                bump(&self.counters.token_failures);
                tracing::warn!(?error, url = %self.url, "cannot get a Google access token");
                state.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// After the API answered 401 to `rejected`: forget it, unless another caller already
    /// replaced it.
    pub async fn invalidate(&self, rejected: &Bearer) {
        let mut state = self.state.lock().await;
        if state.cached.as_ref().is_some_and(|c| c.bearer.is(rejected)) {
            state.cached = None;
        }
    }

    async fn fetch(&self, now: OffsetDateTime) -> Result<(Bearer, u64), TokenError> {
        let iat = now.unix_timestamp();
        let claims = AssertionClaims {
            iss: self.account.client_email(),
            scope: WALLET_SCOPE,
            aud: &self.url,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        // One RSA signature per token, about once an hour: not worth the blocking pool.
        let assertion = self
            .account
            .sign_jwt(&claims)
            .map_err(|error| TokenError::Refused {
                status: None,
                reason: format!("cannot sign the assertion: {error}"),
            })?;
        let form = [
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", assertion.as_str()),
        ];
        let unavailable = |reason: String| TokenError::Unavailable {
            status: None,
            reason,
            after: None,
        };
        let response = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(super::error::describe(&e)))?;
        let status = response.status().as_u16();
        let after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, self.clock.now()));
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(super::error::describe(&e)))?;
        if (200..300).contains(&status) {
            return parse_token(&body).map_err(|reason| TokenError::Unavailable {
                status: Some(status),
                reason,
                after: None,
            });
        }
        let refusal: TokenRefusal = serde_json::from_slice(&body).unwrap_or_default();
        let reason = match (refusal.error, refusal.error_description) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e,
            (None, _) => format!("HTTP {status}"),
        };
        let reason = shorten(reason);
        if (400..500).contains(&status) && status != 408 && status != 429 {
            Err(TokenError::Refused {
                status: Some(status),
                reason,
            })
        } else {
            Err(TokenError::Unavailable {
                status: Some(status),
                reason,
                after,
            })
        }
    }
}

fn parse_token(body: &[u8]) -> Result<(Bearer, u64), String> {
    let answer: TokenAnswer = serde_json::from_slice(body)
        .map_err(|e| format!("the token answer is not the expected JSON: {e}"))?;
    if let Some(kind) = &answer.token_type {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(format!("token_type {kind:?} is not Bearer"));
        }
    }
    if answer.access_token.expose_secret().is_empty() {
        return Err("the access_token is empty".into());
    }
    let lifetime = match &answer.expires_in {
        None => DEFAULT_LIFETIME_SECS,
        Some(seconds) => seconds
            .value()
            .ok_or("expires_in is not a whole number of seconds")?,
    };
    Ok((Bearer(Arc::new(answer.access_token)), lifetime))
}

fn refresh_at(obtained: OffsetDateTime, lifetime_secs: u64) -> OffsetDateTime {
    // Google's tokens live an hour; a claim of more than a day is not believed.
    let secs = lifetime_secs.min(MAX_LIFETIME_SECS);
    let lifetime = time::Duration::seconds(i64::try_from(secs).unwrap_or(0));
    let margin = std::cmp::min(lifetime / 10_i32, MAX_MARGIN);
    obtained + lifetime - margin
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expires_in_may_be_a_number_or_a_string() {
        let (_, n) =
            parse_token(br#"{"access_token":"a","expires_in":3599,"token_type":"Bearer"}"#)
                .unwrap();
        assert_eq!(n, 3599);
        let (bearer, n) = parse_token(br#"{"access_token":"b","expires_in":" 120 "}"#).unwrap();
        assert_eq!(n, 120);
        assert_eq!(bearer.expose(), "b");
        assert_eq!(format!("{bearer:?}"), "Bearer(..)");
        let (_, n) = parse_token(br#"{"access_token":"c"}"#).unwrap();
        assert_eq!(n, DEFAULT_LIFETIME_SECS);
        for bad in [
            br#"{"access_token":"a","expires_in":"soon"}"#.as_slice(),
            br#"{"access_token":"a","expires_in":-5}"#,
            br#"{"access_token":"a","token_type":"MAC"}"#,
            br#"{"access_token":""}"#,
            br#"{"expires_in":3600}"#,
            b"<html>",
        ] {
            assert!(
                parse_token(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn tokens_are_replaced_shortly_before_they_expire() {
        let t = datetime!(2026-03-01 12:00 UTC);
        assert_eq!(refresh_at(t, 3600), t + time::Duration::minutes(55));
        assert_eq!(refresh_at(t, 120), t + time::Duration::seconds(108));
        assert_eq!(refresh_at(t, 0), t);
        assert_eq!(
            refresh_at(t, u64::MAX),
            t + time::Duration::days(1) - MAX_MARGIN
        );
    }

    #[test]
    fn a_refusal_waits_for_the_operator() {
        let outcome = TokenError::Refused {
            status: Some(400),
            reason: "invalid_grant: Invalid JWT Signature.".into(),
        }
        .into_outcome();
        assert!(matches!(
            outcome,
            GoogleOutcome::Retry { status: Some(400), after: Some(REFUSED_RETRY_AFTER), ref reason }
                if reason.contains("invalid_grant")
        ));
    }
}
