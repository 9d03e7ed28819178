//! The REST API's one mapping from errors to responses: JSON `{"error": {"code", "message"}}`
//! with a stable snake_case code ([`ErrorCode`]), whose status it is. Internal error text is
//! logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::error_code::ErrorCode;
use crate::domain::Invalid;
use crate::storage::{Conflict, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        code: ErrorCode,
        message: String,
        field: Option<String>,
    },
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Client {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: &str) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::Unexpected(_) => ErrorCode::InternalError,
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::Client {
            code: ErrorCode::ValidationFailed,
            message: e.to_string(),
            field: Some(e.field),
        }
    }
}

/// Store errors reach clients as what they mean; `NotFound` is mapped by the handler, which
/// knows what was not found.
pub fn store_error(e: StoreError, what: &str) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found(what),
        StoreError::Conflict(c) => {
            let code = match c {
                Conflict::ExternalIdTaken => ErrorCode::ExternalIdTaken,
                Conflict::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
                Conflict::InsufficientPoints { .. } => ErrorCode::InsufficientPoints,
                Conflict::MemberVoided => ErrorCode::MemberVoided,
                Conflict::LocationNameTaken => ErrorCode::LocationNameTaken,
                Conflict::EmailTaken => ErrorCode::EmailTaken,
            };
            let message = match c {
                Conflict::InsufficientPoints { balance } => {
                    format!("the balance ({balance} points) is too low for this change")
                }
                other => other.to_string(),
            };
            ApiError::new(code, message)
        }
        StoreError::Unexpected(e) => ApiError::Unexpected(e),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        store_error(e, "resource")
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        let (message, field) = match self {
            ApiError::Client { message, field, .. } => (message.clone(), field.clone()),
            ApiError::Unexpected(e) => {
                tracing::error!(error = ?e, "request failed");
                (
                    "something went wrong on our side; it has been logged".to_string(),
                    None,
                )
            }
        };
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                field,
                message,
            },
        })
    }
}

/// The body of every error answer from the API.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error, example = json!({"error": {
    "code": "validation_failed",
    "message": "tiers[1].threshold: must not be negative",
    "field": "tiers[1].threshold"
}}))]
pub struct ErrorBody {
    error: ErrorDetail,
}

// Fields in alphabetical order, the order the body always had.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    code: ErrorCode,
    /// The input the error is about (`name`, `tiers[1].threshold`, `Idempotency-Key`,
    /// `limit`); only on `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field: Option<String>,
    /// For people; wording may change.
    message: String,
}

/// Turns actix's JSON body errors into ours: too large 413, wrong content type 415, broken
/// JSON 400, well-formed JSON of the wrong shape (unknown fields, wrong types) 422.
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::payload_too_large(limit),
        E::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as application/json",
        ),
        E::Deserialize(e) if e.is_data() => ApiError::new(ErrorCode::InvalidBody, e.to_string()),
        E::Deserialize(e) => ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        ),
        other => ApiError::new(ErrorCode::BadBody, other.to_string()),
    }
}

/// Query string errors: 422 with what serde said.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, err.to_string())
}

/// Unknown routes under the API answer JSON too.
pub async fn no_route() -> HttpResponse {
    ApiError::not_found("route").error_response()
}

/// A known route asked with a method it does not have.
pub async fn no_method() -> HttpResponse {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not take that method",
    )
    .error_response()
}
