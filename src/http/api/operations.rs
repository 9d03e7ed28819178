//! For operators (admin keys without a program scope): what Wallet devices logged, and the
//! outbox's jobs by state, with a way to send a failed job again.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::resource;
use crate::clock::{from_micros, rfc3339};
use crate::domain::api_key::Role;
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/device-logs").route(web::get().to(device_logs)))
        .service(resource("/outbox/jobs").route(web::get().to(jobs)))
        .service(resource("/outbox/jobs/{id}/retry").route(web::post().to(retry)));
}

fn operator(caller: &Caller) -> Result<(), ApiError> {
    caller.require(&[Role::Admin])?;
    if caller.key.program_id.is_some() {
        return Err(ApiError::forbidden(
            "device logs and the outbox span all programs: use an admin key without a program scope",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<u32>,
}

async fn device_logs(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Limit>,
) -> Result<HttpResponse, ApiError> {
    operator(&caller)?;
    let logs = state.store.device_logs(query.limit.unwrap_or(100)).await?;
    let entries: Vec<_> = logs
        .into_iter()
        .map(|(at, message)| json!({"received_at": rfc3339(from_micros(at)), "message": message}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "entries": entries })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobQuery {
    state: Option<String>,
    limit: Option<u32>,
}

async fn jobs(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<JobQuery>,
) -> Result<HttpResponse, ApiError> {
    operator(&caller)?;
    let wanted = query.state.as_deref().unwrap_or("failed");
    if !matches!(wanted, "pending" | "running" | "done" | "failed") {
        return Err(Invalid::new("state", "must be pending, running, done or failed").into());
    }
    let jobs = state
        .store
        .jobs_in_state(wanted, query.limit.unwrap_or(100))
        .await?;
    let jobs: Vec<_> = jobs
        .into_iter()
        .map(|j| {
            json!({
                "id": j.id,
                "kind": j.kind,
                "state": j.state,
                "attempts": j.attempts,
                "payload": serde_json::from_str::<serde_json::Value>(&j.payload).unwrap_or_default(),
                "last_error": j.last_error,
                "run_at": rfc3339(from_micros(j.run_at)),
                "created_at": rfc3339(from_micros(j.created_at)),
                "finished_at": j.finished_at.map(|t| rfc3339(from_micros(t))),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "jobs": jobs })))
}

async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    operator(&caller)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("failed job"));
    };
    if !state.store.retry_failed_job(id, state.clock.now()).await? {
        return Err(ApiError::not_found("failed job"));
    }
    Ok(HttpResponse::Accepted().json(json!({ "id": id, "state": "pending" })))
}
