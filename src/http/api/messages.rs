//! What a member was sent and agreed to: their consent (current flags and the full history of
//! changes) and their email and SMS messages with how each ended.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{load, resource, MANAGE};
use crate::clock::rfc3339;
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::storage::MessageRecord;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/members/{id}/consent").route(web::get().to(consent)))
        .service(resource("/members/{id}/messages").route(web::get().to(messages)));
}

async fn consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (_, member) = load::member(&state, &caller, &id).await?;
    let history = state.store.consent_history(&member.id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "current": {"email": member.consent.email, "sms": member.consent.sms},
        "history": history,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    limit: Option<u32>,
}

async fn messages(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (_, member) = load::member(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let list = state.store.member_messages(&member.id, limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "messages": list.iter().map(view).collect::<Vec<_>>(),
    })))
}

fn view(m: &MessageRecord) -> serde_json::Value {
    json!({
        "id": m.id,
        "campaign_id": m.campaign_id.as_ref().map(|c| c.as_str()),
        "channel": m.channel.as_str(),
        "template": m.template,
        "status": m.status,
        "reason": m.reason,
        "created_at": rfc3339(m.created_at),
        "updated_at": rfc3339(m.updated_at),
    })
}
