//! What the landing pages answer when they cannot show a link: an HTML page saying so in
//! plain words, with the status that fits. Internal error text is logged, never shown.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::html;
use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LandingError {
    #[error("no such link")]
    NotFound,
    #[error("the link was revoked")]
    Revoked,
    #[error("the card was cancelled")]
    Cancelled,
    #[error("the sample link expired")]
    SampleExpired,
    /// Too many enrollment forms from one address; try again after this long.
    #[error("too many requests")]
    TooMany(std::time::Duration),
    /// A form posted from another site (see `http::client::same_origin`).
    #[error("the form was sent from another site")]
    CrossSite,
    #[error("the form could not be read")]
    BadForm,
    /// A QR image size out of bounds.
    #[error("size out of bounds")]
    BadSize,
    #[error("Google Wallet is not set up")]
    GoogleNotConfigured,
    #[error("Google Wallet did not take the card")]
    GoogleUnavailable,
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for LandingError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => LandingError::NotFound,
            other => LandingError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl LandingError {
    /// The page's heading and explanation.
    fn words(&self) -> (&'static str, &'static str) {
        match self {
            LandingError::NotFound => (
                "Page not found",
                "This link does not lead anywhere. Check that it was copied whole.",
            ),
            LandingError::Revoked => (
                "This link is no longer valid",
                "The link has been withdrawn. Ask the shop for a new one.",
            ),
            LandingError::Cancelled => (
                "This card was cancelled",
                "The card behind this link has been cancelled and can no longer be added to a wallet.",
            ),
            LandingError::SampleExpired => (
                "This sample has expired",
                "Sample links work for a week. Send a new one from the card designer.",
            ),
            LandingError::TooMany(_) => (
                "Too many attempts",
                "Too many forms were sent from your connection. Please wait a minute and try again.",
            ),
            LandingError::CrossSite => (
                "The form could not be accepted",
                "The form was sent from another website. Open the link again and fill it in here.",
            ),
            LandingError::BadForm => (
                "The form could not be read",
                "Open the link again and fill in the form once more.",
            ),
            LandingError::BadSize => (
                "Size not available",
                "QR images come in sizes from 64 to 2048 pixels (?size=512).",
            ),
            LandingError::GoogleNotConfigured => (
                "Google Wallet is not available",
                "This card cannot be saved to Google Wallet yet.",
            ),
            LandingError::GoogleUnavailable => (
                "Google Wallet is not reachable",
                "Google Wallet did not answer. Please try again in a few minutes.",
            ),
            LandingError::Unexpected(_) => (
                "Something went wrong",
                "Something went wrong on our side. Please try again in a few minutes.",
            ),
        }
    }
}

impl ResponseError for LandingError {
    fn status_code(&self) -> StatusCode {
        match self {
            LandingError::NotFound | LandingError::GoogleNotConfigured => StatusCode::NOT_FOUND,
            LandingError::Revoked | LandingError::Cancelled | LandingError::SampleExpired => {
                StatusCode::GONE
            }
            LandingError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            LandingError::CrossSite => StatusCode::FORBIDDEN,
            LandingError::BadForm | LandingError::BadSize => StatusCode::BAD_REQUEST,
            LandingError::GoogleUnavailable => StatusCode::BAD_GATEWAY,
            LandingError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let LandingError::Unexpected(e) = self {
            tracing::error!(error = ?e, "landing page failed");
        }
        let (title, message) = self.words();
        let context = json!({ "title": title, "message": message, "program": null });
        let mut answer = html::page(self.status_code(), "pages/landing_error.html", context);
        if let LandingError::TooMany(wait) = self {
            answer.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        answer
    }
}
