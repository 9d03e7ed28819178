//! Public pass downloads: `/passes/<link token>.pkpass`. The token's MAC is checked before
//! any database lookup; a voided or re-issued card's old links are dead.

use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use super::error::{ApiError, ErrorBody};
use super::openapi::responses::{InternalError, NotModified, Pkpass};
use super::routes::Routes;
use super::{pass_response, Delivery};
use crate::state::AppState;
use crate::storage::{MemberKey, StoreError};

/// The area's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(download))]
pub struct Document;

/// Other methods answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes.add(__path_download, download);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes().register(cfg);
}

/// Download a pass (public)
///
/// The link in a member's `pass_url`: serves the signed store card inline, so Safari on an iPhone offers "Add to Apple Wallet". No key needed; the token is the credential. A voided or re-issued card's old links answer 404.
#[utoipa::path(
    get,
    path = "/passes/{token}.pkpass",
    operation_id = "downloadPass",
    tag = "passes",
    params(
        ("token" = String, Path, description = "The link token from `pass_url` (`<serial>.<generation>.<MAC>`)."),
        ("If-Modified-Since" = Option<String>, Header, nullable = false, description = "An HTTP date; when the pass has not changed since, the answer is 304 without a body.", example = "Sat, 01 Mar 2025 09:30:00 GMT"),
    ),
    responses(
        (status = 200, response = Pkpass),
        (status = 304, response = NotModified),
        (status = 404, description = "`not_found`: the token is malformed or forged, or the card was voided or re-issued.", body = ErrorBody),
        (status = 500, response = InternalError),
    ),
    security(),
)]
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
