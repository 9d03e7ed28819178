//! `POST /c/{code}`: the enrollment form sent. Limited per client address, refused when posted
//! from another site; a form with problems comes back with what was typed and nothing is
//! written. A good one enrolls the member (their consent recorded as given on the landing
//! page), records `enrolled`, and sends the visitor to their own card page (303), which offers
//! the wallet buttons.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::form::EnrollForm;
use super::page::enroll_page;
use super::{live_link, platform, LandingError};
use crate::domain::distribution::LinkKind;
use crate::domain::member::Member;
use crate::http::client;
use crate::http::limits::LandingLimits;
use crate::state::AppState;

/// Send the enrollment form (public)
///
/// The sign-up form of an enrollment link (`application/x-www-form-urlencoded`: `name`,
/// `email`, `phone`, `consent_email`, `consent_sms`). A good form enrolls the member (consent
/// recorded with source `landing_page`), records `enrolled`, and redirects to the member's own
/// card page. Limited per client address (`landing.enroll_burst`, `landing.enroll_per_minute`);
/// refused when the browser says it was posted from another site (`Origin`/`Referer`).
#[utoipa::path(
    post,
    path = "/c/{code}",
    operation_id = "submitEnrollment",
    tag = "landing",
    security(),
    params(
        ("code" = String, Path, description = "The link's code (the last part of its URL)."),
    ),
    request_body(content = EnrollForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Enrolled: `Location` is the member's card page (`/c/{card code}`).", headers(("Location" = String, description = "The member's card page."))),
        (status = 400, description = "The form could not be read.", body = String, content_type = "text/html"),
        (status = 403, description = "The form was posted from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "No such link (or the code does not parse): a page saying so.", body = String, content_type = "text/html"),
        (status = 410, description = "The link was revoked (\"This link is no longer valid\"), or the member's card was cancelled.", body = String, content_type = "text/html"),
        (status = 422, description = "The form again, with what was typed and a message at each field that needs fixing; nothing was stored.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many forms from this address; `Retry-After` says when to try again.", body = String, content_type = "text/html", headers(("Retry-After" = String, description = "Seconds to wait."))),
        (status = 500, description = "Something went wrong on our side (logged).", body = String, content_type = "text/html"),
    )
)]
pub async fn submit(
    state: web::Data<AppState>,
    limits: web::Data<LandingLimits>,
    code: web::Path<String>,
    req: HttpRequest,
    form: Result<web::Form<EnrollForm>, actix_web::Error>,
) -> Result<HttpResponse, LandingError> {
    let address = client::address(&req, limits.trust_forwarded_for);
    limits
        .enrollments
        .check(&address)
        .map_err(LandingError::TooMany)?;
    if !client::same_origin(&req, state.cards.urls().base()) {
        tracing::warn!("enrollment form from another site refused");
        return Err(LandingError::CrossSite);
    }
    let link = live_link(&state, &code).await?;
    if link.kind != LinkKind::Enroll {
        return Err(LandingError::NotFound);
    }
    let form = form.map_err(|_| LandingError::BadForm)?.into_inner();
    let program = state.store.program(&link.program_id).await?;
    let platform = platform(&req);
    let new = match form.validated() {
        Ok(new) => new,
        Err(errors) => return enroll_page(&state, &link, &program, platform, &form, &errors),
    };
    let now = state.clock.now();
    let member = Member::enroll(&program, new, state.random.as_ref(), now);
    let card = state
        .store
        .enroll_through_link(&link, &member, platform, now)
        .await?;
    tracing::info!(member = %member.id, program = %program.id, "member enrolled on the landing page");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/c/{}", card.code)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
