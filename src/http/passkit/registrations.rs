//! Register, unregister, and "which of my passes changed since this tag".

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{authorized, json_body, limit, PassKitError};
use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::{DeviceLibraryId, PushToken};
use crate::http::limits::PassKitLimits;
use crate::state::AppState;
use crate::storage::Registration;

#[derive(Deserialize)]
pub struct PassPath {
    device: String,
    pass_type: String,
    serial: String,
}

#[derive(Deserialize)]
struct RegisterBody {
    #[serde(rename = "pushToken")]
    push_token: String,
}

fn device(s: &str) -> Result<DeviceLibraryId, PassKitError> {
    DeviceLibraryId::parse(s).map_err(|e| PassKitError::BadRequest(e.to_string()))
}

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

/// 200 with the changed serials and a new tag; 204 when nothing changed or the device has
/// nothing registered. The device library id is this call's only credential.
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
        Some(u) if !u.serials.is_empty() => HttpResponse::Ok().json(json!({
            "serialNumbers": u.serials,
            "lastUpdated": u.tag,
        })),
        _ => HttpResponse::NoContent().finish(),
    })
}
