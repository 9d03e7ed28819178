//! `POST /v1/log`: what Wallet on a device reports going wrong with our passes. Stored for
//! operators (`/api/v1/device-logs`, `passwright device-logs`) and logged; never fails the
//! device for content, but bounded in count and length.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use super::{json_body, limit, PassKitError};
use crate::http::limits::PassKitLimits;
use crate::http::openapi::responses::{
    WalletInternalError, WalletPayloadTooLarge, WalletTooManyRequests,
};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct LogBody {
    logs: Vec<String>,
}

/// What Wallet posts. Other fields are ignored.
impl utoipa::PartialSchema for LogBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("What Wallet posts to `/wallet/v1/log`. Other fields are ignored."))
            .property(
                "logs",
                ArrayBuilder::new()
                    .description(Some("Messages. The first `passkit.max_log_entries` (50) are kept, each without control characters and cut to 1000 characters; the rest are dropped with a warning in the service log."))
                    .items(ObjectBuilder::new().schema_type(Type::String)),
            )
            .required("logs")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for LogBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "DeviceLogBody".into()
    }
}

/// Longest stored message, in characters.
const MAX_MESSAGE: usize = 1_000;

/// Log messages from a device (Wallet)
///
/// Wallet reports problems it met with this service's passes. The messages are written to the service log (as warnings) and kept for operators (`GET /api/v1/device-logs`, `passwright device-logs`) for `outbox.retention_hours`. No credential; limited per client address. The body is read as JSON whatever its `Content-Type`.
#[utoipa::path(
    post,
    path = "/wallet/v1/log",
    operation_id = "postDeviceLogs",
    tag = "wallet",
    request_body = LogBody,
    responses(
        (status = 200, description = "Received."),
        (status = 400, description = "The body is not `{\"logs\": [\"...\"]}`; no body."),
        (status = 413, response = WalletPayloadTooLarge),
        (status = 429, response = WalletTooManyRequests),
        (status = 500, response = WalletInternalError),
    ),
    security(),
)]
pub async fn log(
    state: web::Data<AppState>,
    limits: web::Data<PassKitLimits>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PassKitError> {
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    limit(&limits, &format!("log:{peer}"))?;
    let body: LogBody = json_body(&body, "log body")?;
    let max = limits.max_log_entries;
    if body.logs.len() > max {
        tracing::warn!(
            received = body.logs.len(),
            kept = max,
            "device sent more log lines than kept"
        );
    }
    let messages: Vec<String> = body
        .logs
        .into_iter()
        .take(max)
        .map(|m| {
            m.chars()
                .filter(|c| !c.is_control())
                .take(MAX_MESSAGE)
                .collect()
        })
        .collect();
    for m in &messages {
        tracing::warn!(message = %m, "Wallet device log");
    }
    state
        .store
        .add_device_logs(&messages, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}
