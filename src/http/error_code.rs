//! Every `code` the REST API answers an error with, in one enum: a client branches on these,
//! so they are stable, snake_case, and each has one HTTP status. `docs/openapi.json` lists
//! the same set (derived from the enum; a test holds `ALL` to it), and `docs/API.md` has the table by status.

use actix_web::http::StatusCode;
use serde::Serialize;

/// Stable, snake_case; safe to branch on. Each code has one status (docs/API.md lists them by
/// status). `bad_body` is sent when the request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // 400: the request could not be read.
    MalformedJson,
    BadBody,
    IdempotencyKeyRequired,
    CampaignRequired,
    // 401, 403: who is asking.
    Unauthorized,
    ApiKeyRevoked,
    Forbidden,
    CsrfTokenMismatch,
    // 404, 405: what is asked for.
    NotFound,
    MethodNotAllowed,
    // 409: the request is fine, the state is not.
    ExternalIdTaken,
    IdempotencyKeyReused,
    InsufficientPoints,
    MemberVoided,
    LocationNameTaken,
    EmailTaken,
    RewardAlreadyRedeemed,
    RewardInactive,
    GoogleNotConfigured,
    TooManyWebhooks,
    NotAListAudience,
    CampaignSendsNothing,
    CampaignNotStartable,
    CampaignNotActive,
    CampaignNotImportable,
    // 413, 415: the body's size and type.
    PayloadTooLarge,
    UnsupportedMediaType,
    // 422: the body was read, its content is refused.
    InvalidBody,
    ValidationFailed,
    InvalidQuery,
    InvalidImage,
    CertificateMismatch,
    SaveLinkTooLong,
    CsvRejected,
    ScanRejected,
    // 5xx: ours, or someone else's, to fix.
    InternalError,
    GoogleUnavailable,
    ShuttingDown,
}

impl ErrorCode {
    /// Every code, in the order of the enum (and of `docs/openapi.json`).
    pub const ALL: [ErrorCode; 38] = [
        ErrorCode::MalformedJson,
        ErrorCode::BadBody,
        ErrorCode::IdempotencyKeyRequired,
        ErrorCode::CampaignRequired,
        ErrorCode::Unauthorized,
        ErrorCode::ApiKeyRevoked,
        ErrorCode::Forbidden,
        ErrorCode::CsrfTokenMismatch,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ExternalIdTaken,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::InsufficientPoints,
        ErrorCode::MemberVoided,
        ErrorCode::LocationNameTaken,
        ErrorCode::EmailTaken,
        ErrorCode::RewardAlreadyRedeemed,
        ErrorCode::RewardInactive,
        ErrorCode::GoogleNotConfigured,
        ErrorCode::TooManyWebhooks,
        ErrorCode::NotAListAudience,
        ErrorCode::CampaignSendsNothing,
        ErrorCode::CampaignNotStartable,
        ErrorCode::CampaignNotActive,
        ErrorCode::CampaignNotImportable,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidBody,
        ErrorCode::ValidationFailed,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidImage,
        ErrorCode::CertificateMismatch,
        ErrorCode::SaveLinkTooLong,
        ErrorCode::CsvRejected,
        ErrorCode::ScanRejected,
        ErrorCode::InternalError,
        ErrorCode::GoogleUnavailable,
        ErrorCode::ShuttingDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::BadBody => "bad_body",
            ErrorCode::IdempotencyKeyRequired => "idempotency_key_required",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ApiKeyRevoked => "api_key_revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::CsrfTokenMismatch => "csrf_token_mismatch",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::ExternalIdTaken => "external_id_taken",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::InsufficientPoints => "insufficient_points",
            ErrorCode::MemberVoided => "member_voided",
            ErrorCode::LocationNameTaken => "location_name_taken",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::RewardAlreadyRedeemed => "reward_already_redeemed",
            ErrorCode::RewardInactive => "reward_inactive",
            ErrorCode::GoogleNotConfigured => "google_not_configured",
            ErrorCode::TooManyWebhooks => "too_many_webhooks",
            ErrorCode::NotAListAudience => "not_a_list_audience",
            ErrorCode::CampaignSendsNothing => "campaign_sends_nothing",
            ErrorCode::CampaignNotStartable => "campaign_not_startable",
            ErrorCode::CampaignNotActive => "campaign_not_active",
            ErrorCode::CampaignNotImportable => "campaign_not_importable",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidImage => "invalid_image",
            ErrorCode::CertificateMismatch => "certificate_mismatch",
            ErrorCode::SaveLinkTooLong => "save_link_too_long",
            ErrorCode::CampaignRequired => "campaign_required",
            ErrorCode::CsvRejected => "csv_rejected",
            ErrorCode::ScanRejected => "scan_rejected",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::GoogleUnavailable => "google_unavailable",
            ErrorCode::ShuttingDown => "shutting_down",
        }
    }

    /// The status every answer with this code has.
    pub fn status(self) -> StatusCode {
        use ErrorCode as C;
        match self {
            C::MalformedJson | C::BadBody | C::IdempotencyKeyRequired | C::CampaignRequired => {
                StatusCode::BAD_REQUEST
            }
            C::Unauthorized | C::ApiKeyRevoked => StatusCode::UNAUTHORIZED,
            C::Forbidden | C::CsrfTokenMismatch => StatusCode::FORBIDDEN,
            C::NotFound => StatusCode::NOT_FOUND,
            C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            C::ExternalIdTaken
            | C::IdempotencyKeyReused
            | C::InsufficientPoints
            | C::MemberVoided
            | C::LocationNameTaken
            | C::EmailTaken
            | C::RewardAlreadyRedeemed
            | C::RewardInactive
            | C::GoogleNotConfigured
            | C::TooManyWebhooks
            | C::NotAListAudience
            | C::CampaignSendsNothing
            | C::CampaignNotStartable
            | C::CampaignNotActive
            | C::CampaignNotImportable => StatusCode::CONFLICT,
            C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            C::InvalidBody
            | C::ValidationFailed
            | C::InvalidQuery
            | C::InvalidImage
            | C::CertificateMismatch
            | C::SaveLinkTooLong
            | C::CsvRejected
            | C::ScanRejected => StatusCode::UNPROCESSABLE_ENTITY,
            C::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            C::GoogleUnavailable | C::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_its_serde_name_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!(seen.insert(code.as_str()), "{code:?} listed twice");
        }
    }

    /// The document clients generate their error handling from names exactly these codes.
    #[test]
    fn the_openapi_document_lists_every_code() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap();
        let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("components.schemas.ErrorCode lists the codes")
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, ours, "docs/openapi.json's error codes");
    }
}
