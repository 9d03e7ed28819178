//! `POST /c/{code}`: the enrollment form sent. Limited per client address, refused when posted
//! from another site; a form with problems comes back with what was typed and nothing is
//! written. A good one enrolls the member (their consent recorded as given on the landing
//! page), records `enrolled`, and sends the visitor to their own card page (303), which offers
//! the wallet buttons.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::form::EnrollForm;
use super::page::enroll_page;
use super::{client, live_link, platform, LandingError};
use crate::domain::distribution::LinkKind;
use crate::domain::member::Member;
use crate::http::limits::LandingLimits;
use crate::state::AppState;

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
