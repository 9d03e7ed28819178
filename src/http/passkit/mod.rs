//! The Apple PassKit web service under `webServiceURL` (`/wallet`), exactly as Wallet calls
//! it: register and unregister a pass on a device, list the serials updated since a tag,
//! fetch the latest pass, and post logs. Token-protected calls answer 401 for a wrong token
//! and for an unknown pass alike, so serials cannot be probed.

mod error;
mod log;
mod passes;
mod registrations;

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

pub use error::PassKitError;

use crate::domain::apple_ids::{PassTypeId, SerialNumber};
use crate::domain::device::DeviceLibraryId;
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::http::limits::PassKitLimits;
use crate::http::openapi::responses::{
    WalletBadRequest, WalletInternalError, WalletPayloadTooLarge, WalletTooManyRequests,
    WalletUnauthorized,
};
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::storage::MemberKey;

/// The scope of `webServiceURL`'s paths.
const SCOPE: &str = "/wallet/v1";

/// The web service's operations, as documented, and its bare answers (`WalletBadRequest` is
/// the general one; each operation names its own 400).
#[derive(OpenApi)]
#[openapi(
    paths(
        registrations::register,
        registrations::unregister,
        registrations::updated_serials,
        passes::latest,
        log::log
    ),
    components(
        schemas(DeviceLibraryId, PassTypeId),
        responses(
            WalletBadRequest,
            WalletUnauthorized,
            WalletPayloadTooLarge,
            WalletTooManyRequests,
            WalletInternalError
        )
    )
)]
pub struct Document;

/// The routes, registered from their documentation. Other methods on a path answer actix's
/// empty 405 (with `Allow`), as they always did: Wallet looks only at the status.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods(SCOPE, None);
    routes
        .add(registrations::__path_register, registrations::register)
        .add(registrations::__path_unregister, registrations::unregister)
        .add(
            registrations::__path_updated_serials,
            registrations::updated_serials,
        )
        .add(passes::__path_latest, passes::latest)
        .add(log::__path_log, log::log);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig, limits: web::Data<PassKitLimits>) {
    cfg.service(
        web::scope(SCOPE)
            .app_data(web::PayloadConfig::new(64 * 1024))
            .app_data(limits)
            .configure(|cfg| {
                routes().register(cfg);
            })
            .default_service(web::to(HttpResponse::NotFound)),
    );
}

/// Counts one request against `key`'s budget.
fn limit(limits: &PassKitLimits, key: &str) -> Result<(), PassKitError> {
    limits.devices.check(key).map_err(PassKitError::TooMany)
}

/// The member behind (`pass_type`, `serial`) if the request carries that pass's
/// `Authorization: ApplePass <token>`; compared in constant time.
async fn authorized(
    state: &AppState,
    req: &HttpRequest,
    pass_type: &str,
    serial: &str,
) -> Result<(Member, Arc<Program>), PassKitError> {
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("ApplePass "))
        .map(str::trim)
        .ok_or(PassKitError::Unauthorized)?;
    let serial = SerialNumber::parse(serial).map_err(|_| PassKitError::Unauthorized)?;
    let (member, program) = state
        .store
        .member_and_program(MemberKey::Serial(&serial))
        .await?;
    let expected = member.auth_token.expose().as_bytes();
    let token_ok =
        presented.len() == expected.len() && openssl::memcmp::eq(presented.as_bytes(), expected);
    if !token_ok || program.pass_type_id.as_str() != pass_type {
        return Err(PassKitError::Unauthorized);
    }
    Ok((member, program))
}

/// Parses a small JSON body; anything malformed is a bare 400.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, PassKitError> {
    serde_json::from_slice(body).map_err(|e| PassKitError::BadRequest(format!("{what}: {e}")))
}
