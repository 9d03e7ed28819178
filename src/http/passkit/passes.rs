//! The latest version of a pass, signed on demand (or from the cache), with Last-Modified
//! and a 304 when the device already has it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{authorized, limit, PassKitError};
use crate::domain::apple_ids::{PassTypeId, SerialNumber};
use crate::http::limits::PassKitLimits;
use crate::http::openapi::responses::{
    NotModified, Pkpass, WalletInternalError, WalletTooManyRequests, WalletUnauthorized,
};
use crate::http::{pass_response, Delivery};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PassPath {
    pass_type: String,
    serial: String,
}

/// The latest version of a pass (Wallet)
///
/// The pass as it is now, signed (or from the in-memory cache), as an attachment; a voided card comes back voided. `Last-Modified` grows by at least a second with every change, so `If-Modified-Since` answers 304 only when the device has the current version. Limited per serial. Needs the pass's `Authorization: ApplePass <authenticationToken>` (the `applePass` scheme; no API key).
#[utoipa::path(
    get,
    path = "/wallet/v1/passes/{pass_type}/{serial}",
    operation_id = "getLatestPass",
    tag = "wallet",
    params(
        ("pass_type" = PassTypeId, Path, description = "The pass type identifier (`passTypeIdentifier` in `pass.json`), e.g. `pass.com.example.loyalty`."),
        ("serial" = SerialNumber, Path, description = "The pass's serial number (`serialNumber` in `pass.json`)."),
        ("If-Modified-Since" = Option<String>, Header, nullable = false, description = "An HTTP date; when the pass has not changed since, the answer is 304 without a body.", example = "Sat, 01 Mar 2025 09:30:00 GMT"),
    ),
    responses(
        (status = 200, response = Pkpass),
        (status = 304, response = NotModified),
        (status = 401, response = WalletUnauthorized),
        (status = 429, response = WalletTooManyRequests),
        (status = 500, response = WalletInternalError),
    ),
    security(),
)]
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
