//! The REST API's one mapping from errors to responses: JSON `{"error": {"code", "message"}}`
//! with a stable snake_case code. Internal error text is logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::Invalid;
use crate::storage::{Conflict, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Client { code, .. } => code,
            ApiError::Unexpected(_) => "internal_error",
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::Client {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
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
                Conflict::ExternalIdTaken => "external_id_taken",
                Conflict::IdempotencyKeyReused => "idempotency_key_reused",
                Conflict::InsufficientPoints { .. } => "insufficient_points",
                Conflict::MemberVoided => "member_voided",
                Conflict::LocationNameTaken => "location_name_taken",
            };
            let message = match c {
                Conflict::InsufficientPoints { balance } => {
                    format!("the balance ({balance} points) is too low for this change")
                }
                other => other.to_string(),
            };
            ApiError::new(StatusCode::CONFLICT, code, message)
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
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
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
        let mut error = json!({ "code": self.code(), "message": message });
        if let Some(f) = field {
            error["field"] = json!(f);
        }
        HttpResponse::build(self.status_code()).json(json!({ "error": error }))
    }
}

/// Turns actix's JSON body errors into ours: too large 413, wrong content type 415, broken
/// JSON 400, well-formed JSON of the wrong shape (unknown fields, wrong types) 422.
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::payload_too_large(limit),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        E::Deserialize(e) if e.is_data() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            e.to_string(),
        ),
        E::Deserialize(e) => {
            ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
        }
        other => ApiError::bad_request("bad_body", other.to_string()),
    }
}

/// Query string errors: 422 with what serde said.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
        err.to_string(),
    )
}

/// Unknown routes under the API answer JSON too.
pub async fn no_route() -> HttpResponse {
    ApiError::not_found("route").error_response()
}

/// A known route asked with a method it does not have.
pub async fn no_method() -> HttpResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
    .error_response()
}
