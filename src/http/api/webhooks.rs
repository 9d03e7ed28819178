//! A program's webhook endpoints: create (the signing secret is in the answer, once), list,
//! read, change, delete, rotate the secret, and see what was sent. Admins and marketers only:
//! endpoint URLs may carry the receiver's own tokens.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{load, resource, views, MANAGE};
use crate::domain::ids::WebhookId;
use crate::domain::member::double_option;
use crate::domain::webhook::{Subscription, WebhookEndpoint, WebhookSecret, WebhookUrl};
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::error_code::ErrorCode;
use crate::state::AppState;

/// Each endpoint costs every event of the program one more job; this keeps that bounded.
const MAX_PER_PROGRAM: usize = 20;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs/{id}/webhooks")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        resource("/webhooks/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    )
    .service(resource("/webhooks/{id}/rotate-secret").route(web::post().to(rotate_secret)))
    .service(resource("/webhooks/{id}/deliveries").route(web::get().to(deliveries)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    url: String,
    /// Event type names, or `["*"]`; absent means all.
    events: Option<Vec<String>>,
    description: Option<String>,
}

fn description(d: Option<&str>) -> Result<Option<String>, Invalid> {
    d.map(|d| text("description", d, 200)).transpose()
}

fn events(names: Option<&[String]>) -> Result<Subscription, Invalid> {
    names.map_or(Ok(Subscription::All), Subscription::parse)
}

/// The endpoint the path names, if the caller may see it.
async fn load_endpoint(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<WebhookEndpoint, ApiError> {
    let id = WebhookId::parse(id).map_err(|_| ApiError::not_found("webhook"))?;
    let endpoint = state
        .store
        .webhook(&id)
        .await
        .map_err(|e| store_error(e, "webhook"))?;
    caller.check_program(&endpoint.program_id)?;
    Ok(endpoint)
}

/// The endpoint's view with its secret: only when it is made or rotated.
fn with_secret(e: &WebhookEndpoint) -> serde_json::Value {
    let mut body = views::webhook(e);
    body["secret"] = json!(e.secret.expose());
    body
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let body = body.into_inner();
    let url = WebhookUrl::parse(&body.url)?;
    let events = events(body.events.as_deref())?;
    let description = description(body.description.as_deref())?;
    if state.store.webhooks(&program.id).await?.len() >= MAX_PER_PROGRAM {
        return Err(ApiError::new(
            ErrorCode::TooManyWebhooks,
            format!("a program can have at most {MAX_PER_PROGRAM} webhook endpoints"),
        ));
    }
    let now = state.clock.now();
    let endpoint = WebhookEndpoint {
        id: WebhookId::generate(state.random.as_ref()),
        program_id: program.id.clone(),
        url,
        secret: WebhookSecret::generate(state.random.as_ref()),
        events,
        active: true,
        description,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_webhook(&endpoint).await?;
    tracing::info!(webhook = %endpoint.id, program = %program.id, "webhook endpoint created");
    Ok(HttpResponse::Created().json(with_secret(&endpoint)))
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let endpoints = state.store.webhooks(&program.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "webhooks": endpoints.iter().map(views::webhook).collect::<Vec<_>>() })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let endpoint = load_endpoint(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(views::webhook(&endpoint)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchWebhook {
    url: Option<String>,
    events: Option<Vec<String>>,
    active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchWebhook>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let mut endpoint = load_endpoint(&state, &caller, &id).await?;
    let body = body.into_inner();
    if let Some(url) = &body.url {
        endpoint.url = WebhookUrl::parse(url)?;
    }
    if let Some(names) = &body.events {
        endpoint.events = Subscription::parse(names)?;
    }
    if let Some(d) = &body.description {
        endpoint.description = description(d.as_deref())?;
    }
    match body.active {
        Some(true) => {
            endpoint.active = true;
            endpoint.disabled_reason = None;
        }
        Some(false) => endpoint.active = false,
        None => {}
    }
    let saved = state
        .store
        .update_webhook(&endpoint, state.clock.now())
        .await
        .map_err(|e| store_error(e, "webhook"))?;
    Ok(HttpResponse::Ok().json(views::webhook(&saved)))
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let endpoint = load_endpoint(&state, &caller, &id).await?;
    if !state.store.delete_webhook(&endpoint.id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    tracing::info!(webhook = %endpoint.id, "webhook endpoint deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret, effective at once: deliveries from now on (retries included) carry it.
async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let mut endpoint = load_endpoint(&state, &caller, &id).await?;
    endpoint.secret = WebhookSecret::generate(state.random.as_ref());
    let saved = state
        .store
        .update_webhook(&endpoint, state.clock.now())
        .await
        .map_err(|e| store_error(e, "webhook"))?;
    tracing::info!(webhook = %saved.id, "webhook secret rotated");
    Ok(HttpResponse::Ok().json(with_secret(&saved)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    limit: Option<u32>,
}

async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let endpoint = load_endpoint(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let records = state.store.webhook_deliveries(&endpoint.id, limit).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "deliveries": records.iter().map(views::delivery).collect::<Vec<_>>() })))
}
