//! Register, unregister, and "which of my passes changed since this tag".

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use super::{authorized, json_body, limit, PassKitError};
use crate::domain::apple_ids::{PassTypeId, SerialNumber};
use crate::domain::device::{DeviceLibraryId, PushToken};
use crate::http::limits::PassKitLimits;
use crate::http::openapi::responses::{
    WalletInternalError, WalletPayloadTooLarge, WalletTooManyRequests, WalletUnauthorized,
};
use crate::state::AppState;
use crate::storage::Registration;

#[derive(Deserialize)]
pub struct PassPath {
    device: String,
    pass_type: String,
    serial: String,
}

#[derive(Deserialize)]
pub(super) struct RegisterBody {
    #[serde(rename = "pushToken")]
    push_token: String,
}

/// What Wallet sends when it registers a pass. Other fields are ignored.
impl utoipa::PartialSchema for RegisterBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "What Wallet sends when it registers a pass. Other fields are ignored.",
            ))
            .property(
                "pushToken",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The device's APNs token: an even number (8 to 200) of hexadecimal digits; stored in lower case."))
                    .pattern(Some("^([0-9A-Fa-f]{2}){4,100}$")),
            )
            .required("pushToken")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for RegisterBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "PushRegistration".into()
    }
}

fn device(s: &str) -> Result<DeviceLibraryId, PassKitError> {
    DeviceLibraryId::parse(s).map_err(|e| PassKitError::BadRequest(e.to_string()))
}

/// Register a pass on a device (Wallet)
///
/// Wallet asks for pushes when this pass changes, giving the device's push token. Registering again refreshes the token. The body is read as JSON whatever its `Content-Type`. Needs the pass's `Authorization: ApplePass <authenticationToken>` (the `applePass` scheme; no API key).
#[utoipa::path(
    post,
    path = "/wallet/v1/devices/{device}/registrations/{pass_type}/{serial}",
    operation_id = "registerPassOnDevice",
    tag = "wallet",
    params(
        ("device" = DeviceLibraryId, Path, description = "The device library identifier Wallet chose for the device: 1 to 128 letters, digits, `-`, `_` or `.` (otherwise 400). Devices send 32 hex digits."),
        ("pass_type" = PassTypeId, Path, description = "The pass type identifier (`passTypeIdentifier` in `pass.json`), e.g. `pass.com.example.loyalty`."),
        ("serial" = SerialNumber, Path, description = "The pass's serial number (`serialNumber` in `pass.json`)."),
    ),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered."),
        (status = 200, description = "The pass was registered on this device already; the push token is updated."),
        (status = 400, description = "A malformed device library identifier, or a body that is not `{\"pushToken\": \"<hex>\"}` with a valid token. Nothing is registered; no body."),
        (status = 401, response = WalletUnauthorized),
        (status = 413, response = WalletPayloadTooLarge),
        (status = 429, response = WalletTooManyRequests),
        (status = 500, response = WalletInternalError),
    ),
    security(),
)]
pub async fn register(
    state: web::Data<AppState>,
    limits: web::Data<PassKitLimits>,
    path: web::Path<PassPath>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PassKitError> {
    limit(&limits, &path.device)?;
    let device = device(&path.device)?;
    let (member, program) = authorized(&state, &req, &path.pass_type, &path.serial).await?;
    let body: RegisterBody = json_body(&body, "registration body")?;
    let token =
        PushToken::parse(&body.push_token).map_err(|e| PassKitError::BadRequest(e.to_string()))?;
    let registered = state
        .store
        .register_device(
            &device,
            &token,
            &program.pass_type_id,
            &member.serial,
            &program.id,
            state.clock.now(),
        )
        .await?;
    tracing::info!(?device, serial = %member.serial, ?registered, "pass registered on a device");
    Ok(match registered {
        Registration::Created => HttpResponse::Created().finish(),
        Registration::Existing => HttpResponse::Ok().finish(),
    })
}

/// Unregister a pass from a device (Wallet)
///
/// The pass was removed from the device (or updates were switched off): no more pushes for it there. A device with no passes left is forgotten. Idempotent: unregistering a pass that is not registered answers 200 too. Needs the pass's `Authorization: ApplePass <authenticationToken>` (the `applePass` scheme; no API key).
#[utoipa::path(
    delete,
    path = "/wallet/v1/devices/{device}/registrations/{pass_type}/{serial}",
    operation_id = "unregisterPassFromDevice",
    tag = "wallet",
    params(
        ("device" = DeviceLibraryId, Path, description = "The device library identifier Wallet chose for the device: 1 to 128 letters, digits, `-`, `_` or `.` (otherwise 400). Devices send 32 hex digits."),
        ("pass_type" = PassTypeId, Path, description = "The pass type identifier (`passTypeIdentifier` in `pass.json`), e.g. `pass.com.example.loyalty`."),
        ("serial" = SerialNumber, Path, description = "The pass's serial number (`serialNumber` in `pass.json`)."),
    ),
    responses(
        (status = 200, description = "Not registered (any more)."),
        (status = 400, description = "A malformed device library identifier; no body."),
        (status = 401, response = WalletUnauthorized),
        (status = 429, response = WalletTooManyRequests),
        (status = 500, response = WalletInternalError),
    ),
    security(),
)]
pub async fn unregister(
    state: web::Data<AppState>,
    limits: web::Data<PassKitLimits>,
    path: web::Path<PassPath>,
    req: HttpRequest,
) -> Result<HttpResponse, PassKitError> {
    limit(&limits, &path.device)?;
    let device = device(&path.device)?;
    let (member, program) = authorized(&state, &req, &path.pass_type, &path.serial).await?;
    let removed = state
        .store
        .unregister_device(
            &device,
            &program.pass_type_id,
            &member.serial,
            state.clock.now(),
        )
        .await?;
    tracing::info!(?device, serial = %member.serial, removed, "pass unregistered from a device");
    Ok(HttpResponse::Ok().finish())
}

#[derive(Deserialize)]
pub struct DevicePath {
    device: String,
    pass_type: String,
}

#[derive(Deserialize)]
pub struct UpdatedQuery {
    #[serde(rename = "passesUpdatedSince")]
    passes_updated_since: Option<String>,
}

// The answer when passes changed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SerialNumbersUpdated)]
struct Updated {
    /// Serials of the device's passes of this type that changed after the tag, sorted; never empty (no changes answer 204).
    #[schema(value_type = Vec<SerialNumber>, min_items = 1)]
    serial_numbers: Vec<String>,
    /// Opaque tag for the next `passesUpdatedSince`: a change counter on SQLite (`"17"`), a transaction snapshot on PostgreSQL (`"795:795:"`).
    last_updated: String,
}

/// Serials updated since a tag (Wallet)
///
/// After a push, Wallet asks which of the device's passes of this type changed since the tag of its previous answer. Without a tag (or with one this service did not issue) every registered pass is listed. No `Authorization`: the device library identifier is this call's only credential, as in Apple's protocol.
#[utoipa::path(
    get,
    path = "/wallet/v1/devices/{device}/registrations/{pass_type}",
    operation_id = "listUpdatedSerials",
    tag = "wallet",
    params(
        ("device" = DeviceLibraryId, Path, description = "The device library identifier Wallet chose for the device: 1 to 128 letters, digits, `-`, `_` or `.` (otherwise 400). Devices send 32 hex digits."),
        ("pass_type" = PassTypeId, Path, description = "The pass type identifier (`passTypeIdentifier` in `pass.json`), e.g. `pass.com.example.loyalty`."),
        ("passesUpdatedSince" = Option<String>, Query, description = "`lastUpdated` from the previous answer; absent or empty for all."),
    ),
    responses(
        (status = 200, description = "The changed serials and the tag to send next time.", body = Updated),
        (status = 204, description = "Nothing changed since the tag, the device has no passes of this type registered, or the pass type identifier is malformed; no body."),
        (status = 400, description = "A malformed device library identifier; no body."),
        (status = 429, response = WalletTooManyRequests),
        (status = 500, response = WalletInternalError),
    ),
    security(),
)]
pub async fn updated_serials(
    state: web::Data<AppState>,
    limits: web::Data<PassKitLimits>,
    path: web::Path<DevicePath>,
    query: web::Query<UpdatedQuery>,
) -> Result<HttpResponse, PassKitError> {
    limit(&limits, &path.device)?;
    let device = device(&path.device)?;
    let Ok(pass_type) = PassTypeId::parse(&path.pass_type) else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let since = query
        .passes_updated_since
        .as_deref()
        .filter(|s| !s.is_empty());
    let updated = state
        .store
        .serials_updated_since(&device, &pass_type, since)
        .await
        .map_err(|e| PassKitError::Unexpected(anyhow::Error::new(e)))?;
    Ok(match updated {
        Some(u) if !u.serials.is_empty() => HttpResponse::Ok().json(Updated {
            serial_numbers: u.serials,
            last_updated: u.tag,
        }),
        _ => HttpResponse::NoContent().finish(),
    })
}
