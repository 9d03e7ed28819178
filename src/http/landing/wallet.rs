//! The wallet hand-offs of a personal card link: `GET /c/{code}/apple.pkpass` serves the
//! member's current signed pass (Safari on an iPhone offers to add it), `GET /c/{code}/google`
//! sends the visitor on to Google's "Save to Google Wallet" page. Each is recorded against the
//! link (`apple_download`, `google_save`).

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
