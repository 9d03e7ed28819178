//! The PassKit web service answers with the bare status codes Wallet expects; bodies are
//! empty and internal errors are only logged.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PassKitError {
    /// Missing or wrong `ApplePass` token, or a pass we will not reveal exists.
    #[error("not authorised")]
    Unauthorized,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too many requests")]
    TooMany(Duration),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for PassKitError {
    fn from(e: StoreError) -> Self {
        match e {
            // Only token-protected lookups reach here with NotFound: do not reveal it.
            StoreError::NotFound => PassKitError::Unauthorized,
            other => PassKitError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl ResponseError for PassKitError {
    fn status_code(&self) -> StatusCode {
        match self {
            PassKitError::Unauthorized => StatusCode::UNAUTHORIZED,
            PassKitError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PassKitError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            PassKitError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PassKitError::Unexpected(e) => {
                tracing::error!(error = ?e, "PassKit web service request failed");
            }
            PassKitError::BadRequest(why) => tracing::info!(why, "PassKit request refused"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let PassKitError::TooMany(wait) = self {
            response.insert_header(("Retry-After", wait.as_secs().max(1).to_string()));
        }
        response.finish()
    }
}
