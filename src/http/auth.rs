//! Bearer API keys: the `Caller` extractor finds the key by the hash of the presented secret,
//! refuses revoked keys, and offers the role and program-scope checks handlers need.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::domain::api_key::{ApiKey, KeySecret, Role};
use crate::domain::ids::ProgramId;
use crate::http::error_code::ErrorCode;
use crate::state::AppState;
use crate::storage::StoreError;

/// The API key a request was made with.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
}

impl Caller {
    /// Refuses the request unless the key has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.key.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(&format!(
                "a {} key cannot do this",
                self.key.role.as_str()
            )))
        }
    }

    /// Refuses the request if the key is limited to another program.
    pub fn check_program(&self, program: &ProgramId) -> Result<(), ApiError> {
        if self.key.can_access(program) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this key is limited to another program",
            ))
        }
    }

    /// `api_key:<id>`, as ledger entries record who made them.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key.id)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let header = header.ok_or_else(|| {
                ApiError::unauthorized("send an API key as Authorization: Bearer <key>")
            })?;
            let secret = header
                .strip_prefix("Bearer ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be Bearer <key>")
                })?;
            let hash = KeySecret::from_presented(secret).hash();
            let now = state.clock.now();
            let key = match state.api_keys.get(&hash, now) {
                Some(key) => key,
                None => match state.store.api_key_by_hash(&hash).await {
                    Ok(key) => {
                        state.api_keys.put(&hash, &key, now);
                        key
                    }
                    Err(StoreError::NotFound) => {
                        return Err(ApiError::unauthorized("unknown API key"))
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            if key.revoked_at.is_some() {
                return Err(ApiError::new(
                    ErrorCode::ApiKeyRevoked,
                    "this API key has been revoked",
                ));
            }
            Ok(Caller { key })
        })
    }
}
