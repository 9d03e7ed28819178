//! The walletobjects calls passwright makes (google-wallet.md §5): loyalty classes and objects
//! written with "patch, else insert" (and "insert, else patch"), and messages added to objects.
//! Every call ends in a [`GoogleOutcome`]; a 401 costs one token refresh and one more try.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument as _;

use super::config::{checked_url, GoogleApiConfig};
use super::error::{describe, GoogleError};
use super::oauth::{Bearer, TokenError, TokenSource};
use super::outcome::{classify, retry_after, Answer, GoogleOutcome};
use super::service_account::ServiceAccount;
use super::stats::{bump, Counters, GoogleStats};
use crate::clock::SharedClock;
use crate::wallet::google::resources::{LoyaltyClass, LoyaltyObject};

/// A walletobjects resource the client writes: sent as its JSON, addressed by its `id`.
pub trait Resource: Serialize + Sync {
    /// The resource's `id`; `None` fails the call before any request.
    fn resource_id(&self) -> Option<&str>;
}

impl Resource for LoyaltyClass {
    fn resource_id(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Resource for LoyaltyObject {
    fn resource_id(&self) -> Option<&str> {
        Some(&self.id)
    }
}

/// Any JSON body, for callers that hold one already.
impl Resource for Value {
    fn resource_id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }
}

/// The `addMessage` request body.
#[derive(Serialize)]
struct AddMessageRequest<'a, M> {
    message: &'a M,
}

/// Cheap to clone; clones share the connection pool, the token and the counters.
#[derive(Clone)]
pub struct GoogleClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    http: reqwest::Client,
    tokens: TokenSource,
    clock: SharedClock,
    counters: Arc<Counters>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Class,
    Object,
}

impl Kind {
    /// Path segments are camelCase, unlike the method ids (google-wallet.md §5).
    fn segment(self) -> &'static str {
        match self {
            Kind::Class => "loyaltyClass",
            Kind::Object => "loyaltyObject",
        }
    }
}

impl GoogleClient {
    /// Checks the configuration; fetches the first token lazily, with the first call.
    pub fn new(
        config: GoogleApiConfig,
        account: Arc<ServiceAccount>,
        clock: SharedClock,
    ) -> Result<GoogleClient, GoogleError> {
        let base = checked_url("API", &config.api_base_url)?;
        let token_url = checked_url(
            "token",
            config.token_url.as_deref().unwrap_or(account.token_uri()),
        )?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // Google does not redirect these calls; following one could carry the token away.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("passwright/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(GoogleError::Http)?;
        let counters = Arc::new(Counters::default());
        let tokens = TokenSource::new(
            account,
            token_url,
            http.clone(),
            Arc::clone(&clock),
            Arc::clone(&counters),
        );
        Ok(GoogleClient {
            inner: Arc::new(Inner {
                base,
                http,
                tokens,
                clock,
                counters,
            }),
        })
    }

    /// Writes a loyalty class: PATCH, and insert when Google does not have it yet.
    pub async fn upsert_class(&self, class: &impl Resource) -> GoogleOutcome {
        let steps = self.inner.upsert(Kind::Class, class);
        self.run("upsert_class", body_id_text(class), steps).await
    }

    /// Writes a loyalty object: PATCH, and insert when Google does not have it yet.
    pub async fn upsert_object(&self, object: &impl Resource) -> GoogleOutcome {
        let steps = self.inner.upsert(Kind::Object, object);
        self.run("upsert_object", body_id_text(object), steps).await
    }

    /// Creates a loyalty object (when a card is issued), patching it if it already exists.
    pub async fn insert_object(&self, object: &impl Resource) -> GoogleOutcome {
        let steps = self.inner.insert(Kind::Object, object);
        self.run("insert_object", body_id_text(object), steps).await
    }

    /// Adds `message` (a walletobjects `Message`) to an object. `TEXT_AND_NOTIFY` messages
    /// may end in [`GoogleOutcome::QuotaExceeded`].
    pub async fn add_message(
        &self,
        object_id: &str,
        message: &(impl Serialize + Sync),
    ) -> GoogleOutcome {
        let body = AddMessageRequest { message };
        let steps = async {
            let id = checked_id(object_id)?;
            let url = format!("{}/addMessage", self.inner.resource_url(Kind::Object, id));
            self.inner.call(Method::POST, &url, &body).await
        };
        self.run("add_message", object_id, steps).await
    }

    pub fn stats(&self) -> GoogleStats {
        self.inner.counters.snapshot()
    }

    async fn run(
        &self,
        op: &'static str,
        id: &str,
        steps: impl Future<Output = Result<Answer, GoogleOutcome>>,
    ) -> GoogleOutcome {
        let span = tracing::info_span!("google_api", op, id);
        async { self.finish(steps.await) }.instrument(span).await
    }

    fn finish(&self, result: Result<Answer, GoogleOutcome>) -> GoogleOutcome {
        let outcome = match result {
            Ok(answer) => classify(&answer),
            Err(outcome) => outcome,
        };
        self.inner.counters.record(&outcome);
        match &outcome {
            GoogleOutcome::Done => tracing::debug!("Google Wallet call done"),
            GoogleOutcome::QuotaExceeded => {
                tracing::info!("Google refused a notification: 3 in 24 hours already")
            }
            GoogleOutcome::Retry {
                status,
                reason,
                after,
            } => tracing::info!(?status, reason, ?after, "Google Wallet call to be retried"),
            GoogleOutcome::Failed { status, reason } => {
                tracing::warn!(?status, reason, "Google Wallet refused the call")
            }
        }
        outcome
    }
}

impl fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleClient")
            .field("api", &self.inner.base)
            .field("token_url", &self.inner.tokens.url())
            .finish_non_exhaustive()
    }
}

impl Inner {
    async fn upsert(&self, kind: Kind, body: &impl Resource) -> Result<Answer, GoogleOutcome> {
        let id = body_id(kind, body)?;
        let resource = self.resource_url(kind, id);
        let patched = self.call(Method::PATCH, &resource, body).await?;
        if patched.status != 404 {
            return Ok(patched);
        }
        let inserted = self
            .call(Method::POST, &self.collection_url(kind), body)
            .await?;
        if inserted.status != 409 {
            return Ok(inserted);
        }
        // Someone created it between our two calls.
        self.call(Method::PATCH, &resource, body).await
    }

    async fn insert(&self, kind: Kind, body: &impl Resource) -> Result<Answer, GoogleOutcome> {
        let id = body_id(kind, body)?;
        let inserted = self
            .call(Method::POST, &self.collection_url(kind), body)
            .await?;
        if inserted.status != 409 {
            return Ok(inserted);
        }
        self.call(Method::PATCH, &self.resource_url(kind, id), body)
            .await
    }

    fn collection_url(&self, kind: Kind) -> String {
        format!("{}/{}", self.base, kind.segment())
    }

    fn resource_url(&self, kind: Kind, id: &str) -> String {
        format!("{}/{}/{id}", self.base, kind.segment())
    }

    /// One request with a token; after a 401, one more with a fresh token.
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: &(impl Serialize + Sync),
    ) -> Result<Answer, GoogleOutcome> {
        let mut bearer = self.tokens.get().await.map_err(TokenError::into_outcome)?;
        let mut refreshed = false;
        loop {
            let answer = self.send(method.clone(), url, body, &bearer).await?;
            if answer.status != 401 {
                return Ok(answer);
            }
            bump(&self.counters.unauthorized_responses);
            if refreshed {
                return Ok(answer);
            }
            refreshed = true;
            self.tokens.invalidate(&bearer).await;
            bearer = self.tokens.get().await.map_err(TokenError::into_outcome)?;
        }
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: &(impl Serialize + Sync),
        bearer: &Bearer,
    ) -> Result<Answer, GoogleOutcome> {
        bump(&self.counters.requests);
        let lost = |error: reqwest::Error| GoogleOutcome::retry(describe(&error), None);
        let response = self
            .http
            .request(method, url)
            // Marks the header sensitive, so it is left out of reqwest's own debug output.
            .bearer_auth(bearer.expose())
            .json(body)
            .send()
            .await
            .map_err(lost)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, self.clock.now()));
        let body = response.bytes().await.map_err(lost)?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

fn body_id_text(body: &impl Resource) -> &str {
    body.resource_id().unwrap_or_default()
}

fn body_id(kind: Kind, body: &impl Resource) -> Result<&str, GoogleOutcome> {
    let id = body
        .resource_id()
        .ok_or_else(|| GoogleOutcome::failed(format!("the {} has no \"id\"", kind.segment())))?;
    checked_id(id)
}

/// Google allows letters, digits, `.`, `_` and `-` in resource ids (`<issuer id>.<suffix>`);
/// checking here also keeps an id from changing the request path.
fn checked_id(id: &str) -> Result<&str, GoogleOutcome> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if id.is_empty() || !id.chars().all(allowed) {
        return Err(GoogleOutcome::failed(format!(
            "{id:?} is not a Google Wallet resource id"
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert_eq!(
            checked_id("3388000000022.member-1_a"),
            Ok("3388000000022.member-1_a")
        );
        for bad in ["", "3388/../issuer", "a b", "x?y", "é"] {
            assert!(
                matches!(
                    checked_id(bad),
                    Err(GoogleOutcome::Failed { status: None, .. })
                ),
                "{bad}"
            );
        }
        let no_id = json!({"classId": "3388.gold"});
        let missing = body_id(Kind::Object, &no_id);
        assert!(
            matches!(missing, Err(GoogleOutcome::Failed { ref reason, .. }) if reason.contains("loyaltyObject"))
        );
    }
}
