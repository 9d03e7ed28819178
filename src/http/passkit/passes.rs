//! The latest version of a pass, signed on demand (or from the cache), with Last-Modified
//! and a 304 when the device already has it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{authorized, limit, PassKitError};
use crate::http::limits::PassKitLimits;
use crate::http::{pass_response, Delivery};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PassPath {
    pass_type: String,
    serial: String,
}

pub async fn latest(
    state: web::Data<AppState>,
    limits: web::Data<PassKitLimits>,
    path: web::Path<PassPath>,
    req: HttpRequest,
) -> Result<HttpResponse, PassKitError> {
    limit(&limits, &path.serial)?;
    let (member, program) = authorized(&state, &req, &path.pass_type, &path.serial).await?;
    let pass = state
        .cards
        .apple_pass(&state.store, &program, &member)
        .await?;
    Ok(pass_response(&req, &pass, Delivery::Attachment))
}
