//! `POST /v1/log`: what Wallet on a device reports going wrong with our passes. Stored for
//! operators (`/api/v1/device-logs`, `passwright device-logs`) and logged; never fails the
//! device for content, but bounded in count and length.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{json_body, limit, PassKitError};
use crate::http::limits::PassKitLimits;
use crate::state::AppState;

#[derive(Deserialize)]
struct LogBody {
    logs: Vec<String>,
}

/// Longest stored message, in characters.
const MAX_MESSAGE: usize = 1_000;

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
