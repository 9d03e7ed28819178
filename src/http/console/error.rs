//! What a console page answers when it cannot be shown: the sign-in page for someone not
//! signed in, otherwise a page saying what went wrong in plain words, with the status that
//! fits. Internal error text is logged, never shown.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::html::{public, render, see_other};
use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: to the sign-in page, and back to `next` afterwards.
    #[error("not signed in")]
    SignIn { next: String },
    /// A form without this session's token: sent from another site, or from a page opened
    /// before the person signed out and in again.
    #[error("the form's token does not match the session")]
    StaleForm,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    /// A form that could not be read (not a form, or too long).
    #[error("the form could not be read")]
    BadForm,
    /// The thing asked for cannot happen in the state it is in: a page saying why.
    #[error("{0}")]
    Conflict(&'static str),
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ConsoleError::NotFound,
            other => ConsoleError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// `text` as it may stand in a query string.
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::StaleForm | ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::BadForm => StatusCode::BAD_REQUEST,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, text) = match self {
            ConsoleError::SignIn { next } => {
                return see_other(&format!("/console/sign-in?next={}", query_value(next)))
            }
            ConsoleError::StaleForm => (
                "This form has expired",
                "It was opened before you last signed in, or sent from another website. Go back, reload the page and send it again.",
            ),
            ConsoleError::Forbidden(why) => ("Not for your account", *why),
            ConsoleError::NotFound => (
                "Page not found",
                "There is nothing at this address. It may have been removed, or the link was copied in part.",
            ),
            ConsoleError::BadForm => (
                "The form could not be read",
                "Go back, reload the page and fill the form in again.",
            ),
            ConsoleError::Conflict(why) => ("That cannot be done now", *why),
            ConsoleError::Unexpected(e) => {
                tracing::error!(error = ?e, "console page failed");
                (
                    "Something went wrong on our side",
                    "Nothing you did caused this, and it has been logged. Try again in a moment.",
                )
            }
        };
        render(
            self.status_code(),
            "console/error.html",
            &public(json!({ "title": title, "text": text })),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            super::query_value("/console/users?a=1&b=é"),
            "/console/users%3Fa%3D1%26b%3D%C3%A9"
        );
    }
}
