//! The checks APNs makes on a pass push, in its order (method, path, client certificate or
//! provider token, topic, push type, priority, payload), and the record of each request.

use http::Method;

use super::{lock, FakeAuth, Recorded, Shared};

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

impl Shared {
    pub(super) fn record(&self, mut record: Recorded, status: Option<u16>) {
        record.status = status;
        lock(&self.recorded).push(record);
        self.changed.notify_waiters();
    }

    /// The checks APNs makes, in its order; the error is (status, reason).
    pub(super) fn check(
        &self,
        r: &Recorded,
        peer_uid: Option<&str>,
    ) -> Result<(), (u16, &'static str)> {
        if r.method != Method::POST.as_str() {
            return Err((405, "MethodNotAllowed"));
        }
        if r.token.is_none() {
            return Err((404, "BadPath"));
        }
        match &self.options.auth {
            FakeAuth::Certificate { .. } => {
                let Some(uid) = peer_uid else {
                    return Err((403, "BadCertificate"));
                };
                if r.topic.as_deref().is_some_and(|topic| topic != uid) {
                    return Err((400, "TopicDisallowed"));
                }
            }
            FakeAuth::Token { .. } => self.check_token(r.authorization.as_deref())?,
            FakeAuth::Open => {}
        }
        if r.topic.is_none() {
            return Err((400, "MissingTopic"));
        }
        if r.push_type.as_deref() != Some("background") {
            return Err((400, "InvalidPushType"));
        }
        if r.priority.as_deref() != Some("5") {
            return Err((400, "BadPriority"));
        }
        // APNs documents no reason for a body that is not JSON; PayloadEmpty covers both.
        if r.body.is_empty() || serde_json::from_slice::<serde_json::Value>(&r.body).is_err() {
            return Err((400, "PayloadEmpty"));
        }
        Ok(())
    }

    fn check_token(&self, authorization: Option<&str>) -> Result<(), (u16, &'static str)> {
        const INVALID: (u16, &str) = (403, "InvalidProviderToken");
        let (
            FakeAuth::Token {
                key_id, team_id, ..
            },
            Some(key),
        ) = (&self.options.auth, &self.token_key)
        else {
            return Ok(());
        };
        let Some(authorization) = authorization else {
            return Err((403, "MissingProviderToken"));
        };
        let jwt = authorization.strip_prefix("bearer ").ok_or(INVALID)?;
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| INVALID)?;
        if header.alg != jsonwebtoken::Algorithm::ES256 || header.kid.as_deref() != Some(key_id) {
            return Err(INVALID);
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(jwt, key, &validation)
            .map_err(|_| INVALID)?
            .claims;
        if claims.iss != *team_id {
            return Err(INVALID);
        }
        if self.options.clock.now().unix_timestamp() - claims.iat >= 3600 {
            return Err((403, "ExpiredProviderToken"));
        }
        Ok(())
    }
}
