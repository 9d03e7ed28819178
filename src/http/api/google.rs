//! "Save to Google Wallet" links for members. With Google's API configured, asking for the
//! link inserts the member's loyalty object first (so the link only names it) and from then
//! on every change of the member is sent to Google through the outbox.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{load, resource, READ};
use crate::cards::google::{GoogleCardError, SaveLinkMode};
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::http::error_code::ErrorCode;
use crate::state::AppState;
use crate::wallet::google::save_link::SaveLinkError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/members/{id}/google").route(web::post().to(save_link)));
}

async fn save_link(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let Some(google) = &state.google else {
        return Err(ApiError::new(
            ErrorCode::GoogleNotConfigured,
            "Google Wallet is not configured (google.issuer_id)",
        ));
    };
    let link = google
        .save_link(
            &state.store,
            &state.cards,
            &program,
            &member,
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            GoogleCardError::Link(SaveLinkError::TooLong { length }) => ApiError::new(
                ErrorCode::SaveLinkTooLong,
                format!(
                    "the save link would be {length} characters, more than the 1800 Google allows; \
                     configure Google's API (google.api_url) so links carry only the object's id"
                ),
            ),
            GoogleCardError::Api(reason) => {
                tracing::warn!(reason, "Google Wallet refused or did not answer");
                ApiError::new(
                    ErrorCode::GoogleUnavailable,
                    "Google Wallet did not accept the card just now; try again shortly",
                )
            }
            other => ApiError::Unexpected(anyhow::Error::new(other)),
        })?;
    Ok(HttpResponse::Ok().json(json!({
        "save_url": link.url,
        "mode": match link.mode {
            SaveLinkMode::Skinny => "skinny",
            SaveLinkMode::Full => "full",
        },
    })))
}
