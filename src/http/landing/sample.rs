//! The sample card a console user sent to their phone from the designer: `GET
//! /sample/{token}` shows it with the wallet buttons, `GET /sample/{token}/apple.pkpass` and
//! `GET /sample/{token}/google` hand it to a wallet. The token is signed (`cards::tokens`)
//! and names the program and when the link stops working (a week after it was sent); the
//! card is the program's saved design for a made-up member (Alex Sample), signed afresh
//! for each request and stored nowhere.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::page::{handoff_qr, wallet_buttons};
use super::{html, platform, LandingError};
use crate::cards::sample_member;
use crate::domain::program::Program;
use crate::http::openapi::responses::Pkpass;
use crate::http::{pass_response, Delivery};
use crate::state::AppState;

/// The program of a sample token while the link works: a token that does not check out is
/// 404, an expired one 410.
async fn sampled(state: &AppState, token: &str) -> Result<Program, LandingError> {
    let claim = state
        .cards
        .keys()
        .sample_key()
        .verify(token)
        .map_err(|_| LandingError::NotFound)?;
    if claim.expires <= state.clock.now().unix_timestamp() {
        return Err(LandingError::SampleExpired);
    }
    Ok(state.store.program(&claim.program).await?)
}

/// A sample card (public)
///
/// The page a sample link sent from the card designer opens: the program's saved card for a
/// made-up member (Alex Sample, 120 points) with "Add to Apple Wallet" and, when Google
/// Wallet is set up, "Save to Google Wallet", the visitor's own wallet first; on a desktop a
/// QR code opens it on a phone. Server-rendered, no JavaScript.
#[utoipa::path(
    get,
    path = "/sample/{token}",
    operation_id = "getSampleCardPage",
    tag = "landing",
    security(),
    params(("token" = String, Path, description = "The sample link's signed token.")),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 404, description = "Not a sample link (or its program is gone): a page saying so.", body = String, content_type = "text/html"),
        (status = 410, description = "The sample link expired (they work for a week).", body = String, content_type = "text/html"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    token: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, LandingError> {
    let program = sampled(&state, &token).await?;
    let member = sample_member(&program, state.random.as_ref(), state.clock.now());
    let platform = platform(&req);
    let base = format!("/sample/{token}");
    let url = state.cards.urls().sample(&token);
    let context = json!({
        "platform": platform.as_str(),
        "qr_svg": handoff_qr(&url, platform)?,
        "buttons": wallet_buttons(&state, platform, &base),
        "google_available": state.google.is_some(),
        "member": { "name": member.name, "balance": member.balance, "tier": member.tier },
    });
    Ok(no_store(html::program_page(
        StatusCode::OK,
        "pages/landing_sample.html",
        &program,
        context,
    )))
}

/// `answer`, kept by no cache: each sample is signed afresh.
fn no_store(mut answer: HttpResponse) -> HttpResponse {
    answer.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    answer
}

/// A sample card for Apple Wallet (public)
///
/// The program's saved design signed for a made-up member, inline (Safari on an iPhone offers
/// to add it). A new sample member each time; it is stored nowhere and gets no updates.
#[utoipa::path(
    get,
    path = "/sample/{token}/apple.pkpass",
    operation_id = "getSampleApplePass",
    tag = "landing",
    security(),
    params(("token" = String, Path, description = "The sample link's signed token.")),
    responses(
        (status = 200, response = Pkpass),
        (status = 404, description = "Not a sample link.", body = String, content_type = "text/html"),
        (status = 410, description = "The sample link expired.", body = String, content_type = "text/html"),
    )
)]
pub async fn apple(
    state: web::Data<AppState>,
    token: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, LandingError> {
    let program = sampled(&state, &token).await?;
    let pass = state
        .cards
        .sample_pass(&state.store, &program, state.random.as_ref())
        .await?;
    Ok(no_store(pass_response(&req, &pass, Delivery::Inline)))
}

/// A sample card for Google Wallet (public)
///
/// Redirects to Google's "Save to Google Wallet" page for a made-up member's card of the
/// program's saved design. 404 when Google Wallet is not set up.
#[utoipa::path(
    get,
    path = "/sample/{token}/google",
    operation_id = "getSampleGoogleSave",
    tag = "landing",
    security(),
    params(("token" = String, Path, description = "The sample link's signed token.")),
    responses(
        (status = 303, description = "On to Google.", headers(("Location" = String, description = "The Save to Google Wallet URL."))),
        (status = 404, description = "Not a sample link, or Google Wallet is not set up.", body = String, content_type = "text/html"),
        (status = 410, description = "The sample link expired.", body = String, content_type = "text/html"),
        (status = 502, description = "Google Wallet did not accept the card.", body = String, content_type = "text/html"),
    )
)]
pub async fn google(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, LandingError> {
    let program = sampled(&state, &token).await?;
    let Some(google) = &state.google else {
        return Err(LandingError::GoogleNotConfigured);
    };
    let now = state.clock.now();
    let member = sample_member(&program, state.random.as_ref(), now);
    let save = google
        .sample_save_link(&state.cards, &program, &member, now)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, program = %program.id, "no Google Wallet save link for a sample");
            LandingError::GoogleUnavailable
        })?;
    Ok(no_store(
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, save.url))
            .finish(),
    ))
}
