//! Public pass downloads: `/passes/<link token>.pkpass`. The token's MAC is checked before
//! any database lookup; a voided or re-issued card's old links are dead.

use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::{pass_response, Delivery};
use crate::state::AppState;
use crate::storage::{MemberKey, StoreError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/passes/{token}.pkpass", web::get().to(download));
}

async fn download(
    state: web::Data<AppState>,
    token: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let gone = || ApiError::not_found("pass");
    let claim = state
        .cards
        .keys()
        .verify_link_token(&token)
        .map_err(|_| gone())?;
    let (member, program) = match state
        .store
        .member_and_program(MemberKey::Serial(&claim.serial))
        .await
    {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(e.into()),
    };
    if member.card_generation != claim.generation {
        return Err(gone());
    }
    let signed = state
        .cards
        .apple_pass(&state.store, &program, &member)
        .await?;
    Ok(pass_response(&req, &signed, Delivery::Inline))
}
