//! The wallet hand-offs of a personal card link: `GET /c/{code}/apple.pkpass` serves the
//! member's current signed pass (Safari on an iPhone offers to add it), `GET /c/{code}/google`
//! sends the visitor on to Google's "Save to Google Wallet" page. Each is recorded against the
//! link (`apple_download`, `google_save`).

use crate::http::openapi::responses::{NotModified, Pkpass};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{live_link, platform, LandingError};
use crate::domain::distribution::LinkKind;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Program;
use crate::http::{pass_response, Delivery};
use crate::state::AppState;
use crate::storage::{LinkAction, LinkRecord, MemberKey};

/// The card link's member while their card is active.
async fn card(
    state: &AppState,
    code: &str,
) -> Result<(LinkRecord, Member, std::sync::Arc<Program>), LandingError> {
    let link = live_link(state, code).await?;
    let member = match (link.kind, &link.member_id) {
        (LinkKind::Card, Some(member)) => member.clone(),
        _ => return Err(LandingError::NotFound),
    };
    let (member, program) = state
        .store
        .member_and_program(MemberKey::Id(&member))
        .await?;
    if member.status == MemberStatus::Voided {
        return Err(LandingError::Cancelled);
    }
    Ok((link, member, program))
}

/// Add to Apple Wallet from a card link (public)
///
/// The member's current signed pass, inline (Safari on an iPhone offers to add it). Records an
/// `apple_download` link event. Only personal card links have one.
#[utoipa::path(
    get,
    path = "/c/{code}/apple.pkpass",
    operation_id = "getLinkApplePass",
    tag = "landing",
    security(),
    params(
        ("code" = String, Path, description = "The link's code (the last part of its URL)."),
        ("If-Modified-Since" = Option<String>, Header, description = "An HTTP date; when the pass has not changed since, the answer is 304 without a body."),
    ),
    responses(
        (status = 200, response = Pkpass),
        (status = 304, response = NotModified),
        (status = 404, description = "No such link (or the code does not parse): a page saying so.", body = String, content_type = "text/html"),
        (status = 410, description = "The link was revoked (\"This link is no longer valid\"), or the member's card was cancelled.", body = String, content_type = "text/html"),
        (status = 500, description = "Something went wrong on our side (logged).", body = String, content_type = "text/html"),
    )
)]
pub async fn apple(
    state: web::Data<AppState>,
    code: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, LandingError> {
    let (link, member, program) = card(&state, &code).await?;
    let signed = state
        .cards
        .apple_pass(&state.store, &program, &member)
        .await?;
    state
        .store
        .record_link_event(
            &link,
            LinkAction::AppleDownload,
            platform(&req),
            Some(&member.id),
            state.clock.now(),
        )
        .await?;
    Ok(pass_response(&req, &signed, Delivery::Inline))
}

/// Save to Google Wallet from a card link (public)
///
/// Records a `google_save` link event and redirects to Google's "Save to Google Wallet" page
/// for the member's card. 404 when Google Wallet is not configured.
#[utoipa::path(
    get,
    path = "/c/{code}/google",
    operation_id = "getLinkGoogleSave",
    tag = "landing",
    security(),
    params(
        ("code" = String, Path, description = "The link's code (the last part of its URL)."),
    ),
    responses(
        (status = 303, description = "On to Google.", headers(("Location" = String, description = "The Save to Google Wallet URL."))),
        (status = 404, description = "No such card link, or Google Wallet is not configured.", body = String, content_type = "text/html"),
        (status = 410, description = "The link was revoked, or the member's card was cancelled.", body = String, content_type = "text/html"),
        (status = 500, description = "Something went wrong on our side (logged).", body = String, content_type = "text/html"),
        (status = 502, description = "Google Wallet did not accept the card.", body = String, content_type = "text/html"),
    )
)]
pub async fn google(
    state: web::Data<AppState>,
    code: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, LandingError> {
    let (link, member, program) = card(&state, &code).await?;
    let Some(google) = &state.google else {
        return Err(LandingError::GoogleNotConfigured);
    };
    let now = state.clock.now();
    let save = google
        .save_link(&state.store, &state.cards, &program, &member, now)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, member = %member.id, "no Google Wallet save link");
            LandingError::GoogleUnavailable
        })?;
    state
        .store
        .record_link_event(
            &link,
            LinkAction::GoogleSave,
            platform(&req),
            Some(&member.id),
            now,
        )
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, save.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
