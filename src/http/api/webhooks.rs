//! A program's webhook endpoints: create (the signing secret is in the answer, once), list,
//! read, change, delete, rotate the secret, and see what was sent. Admins and marketers only:
//! endpoint URLs may carry the receiver's own tokens.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::views::{event_selectors, DeliveryView, WebhookView};
use super::{load, MANAGE};
use crate::clock::rfc3339;
use crate::domain::ids::{ProgramId, WebhookId};
use crate::domain::member::double_option;
use crate::domain::webhook::{Subscription, WebhookEndpoint, WebhookSecret, WebhookUrl};
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{BodyRefusals, KeyRefusals};
use crate::http::routes::Routes;
use crate::state::AppState;

/// Each endpoint costs every event of the program one more job; this keeps that bounded.
const MAX_PER_PROGRAM: usize = 20;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(create, list, get, patch, delete, rotate_secret, deliveries))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_get, get)
        .add(__path_patch, patch)
        .add(__path_delete, delete)
        .add(__path_rotate_secret, rotate_secret)
        .add(__path_deliveries, deliveries);
}

/// An endpoint with its signing secret: only when it is made or its secret rotated.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookCreated)]
struct WithSecret {
    active: bool,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(required = true)]
    description: Option<String>,
    /// Why passwright switched the endpoint off (it answered 410 Gone); `null` otherwise.
    #[schema(required = true)]
    disabled_reason: Option<String>,
    #[schema(schema_with = event_selectors)]
    events: Vec<&'static str>,
    id: WebhookId,
    program_id: ProgramId,
    /// The HMAC-SHA256 key for `Passwright-Signature` (the whole string, prefix included). Shown only here.
    #[schema(pattern = "^whsec_[a-z2-7]{40}$")]
    secret: String,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    updated_at: String,
    url: String,
}

impl WithSecret {
    /// The endpoint's view with its secret: only when it is made or rotated.
    fn new(e: &WebhookEndpoint) -> WithSecret {
        WithSecret {
            active: e.active,
            created_at: rfc3339(e.created_at),
            description: e.description.clone(),
            disabled_reason: e.disabled_reason.clone(),
            events: e.events.names(),
            id: e.id.clone(),
            program_id: e.program_id.clone(),
            secret: e.secret.expose().to_string(),
            updated_at: rfc3339(e.updated_at),
            url: e.url.as_str().to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = WebhookList)]
struct WebhookList {
    webhooks: Vec<WebhookView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = WebhookDeliveryList)]
struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

/// The `events` of an input: at least one, at most 32.
fn events_input(description: &str) -> utoipa::openapi::Array {
    let mut events = event_selectors();
    events.min_items = Some(1);
    events.max_items = Some(32);
    events.description = Some(description.to_string());
    events
}

fn create_events() -> utoipa::openapi::Array {
    events_input("The event types to send; absent or `[\"*\"]`: all of them. Repeats are dropped.")
}

fn patch_events() -> utoipa::openapi::Array {
    events_input("The event types to send; `[\"*\"]` for all. Repeats are dropped.")
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookInput)]
struct CreateWebhook {
    /// Absolute `http` or `https` URL without credentials or `#fragment`. Loopback and private addresses are allowed (self-hosted receivers).
    #[schema(max_length = 2048)]
    url: String,
    #[schema(schema_with = create_events)]
    events: Option<Vec<String>>,
    /// A note for people, e.g. what receives it.
    #[schema(min_length = 1, max_length = 200)]
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

/// Create a webhook endpoint
///
/// Adds an endpoint that is sent the program's events of the chosen types, signed with a new
/// secret that the answer shows once. At most 20 endpoints per program.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/webhooks",
    operation_id = "createWebhook",
    tag = "webhooks",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The endpoint, with its signing secret.", body = WithSecret),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 409, description = "`too_many_webhooks`: the program has 20 endpoints already.", body = ErrorBody),
        (status = 422, description = "`invalid_body`: wrong shape (unknown fields, a missing `url`); `validation_failed`: a URL that is not absolute http(s), carries credentials or a fragment (`field` `url`), an unknown event type (`events[i]`), an empty `events` list, an empty or long description.", body = ErrorBody),
        KeyRefusals,
        BodyRefusals,
    )
)]
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
    Ok(HttpResponse::Created().json(WithSecret::new(&endpoint)))
}

/// List a program's webhook endpoints
///
/// The program's endpoints, oldest first, without their secrets.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/webhooks",
    operation_id = "listWebhooks",
    tag = "webhooks",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    responses(
        (status = 200, description = "The endpoints.", body = WebhookList),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let endpoints = state.store.webhooks(&program.id).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        webhooks: endpoints.iter().map(WebhookView::new).collect(),
    }))
}

/// Read a webhook endpoint
///
/// The endpoint, without its secret.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    operation_id = "getWebhook",
    tag = "webhooks",
    params(("id" = WebhookId, Path, description = "The webhook endpoint's id.")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 404, description = "`not_found`: no such webhook endpoint, or its id does not parse.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let endpoint = load_endpoint(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(WebhookView::new(&endpoint)))
}

/// Absent keys stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookPatch)]
struct PatchWebhook {
    /// Absolute `http` or `https` URL without credentials or `#fragment`. Loopback and private addresses are allowed (self-hosted receivers).
    #[schema(value_type = String, required = false, max_length = 2048)]
    url: Option<String>,
    #[schema(schema_with = patch_events)]
    events: Option<Vec<String>>,
    /// `false` stops deliveries (pending ones end unsent); `true` starts them again and clears `disabled_reason`.
    #[schema(value_type = bool, required = false)]
    active: Option<bool>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    description: Option<Option<String>>,
}

/// Change a webhook endpoint
///
/// Changes the URL, event types, state or description. Deliveries still pending go to the
/// new URL. Switching an endpoint on clears `disabled_reason`.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    operation_id = "updateWebhook",
    tag = "webhooks",
    params(("id" = WebhookId, Path, description = "The webhook endpoint's id.")),
    request_body = PatchWebhook,
    responses(
        (status = 200, description = "The endpoint as changed.", body = WebhookView),
        (status = 404, description = "`not_found`: no such webhook endpoint, or its id does not parse.", body = ErrorBody),
        (status = 422, description = "`invalid_body`: wrong shape; `validation_failed`: as for creating, with `field`.", body = ErrorBody),
        KeyRefusals,
        BodyRefusals,
    )
)]
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
    Ok(HttpResponse::Ok().json(WebhookView::new(&saved)))
}

/// Delete a webhook endpoint
///
/// Deletes the endpoint and its delivery records; deliveries still pending end without being
/// sent.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = WebhookId, Path, description = "The webhook endpoint's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`not_found`: no such webhook endpoint, or its id does not parse.", body = ErrorBody),
        KeyRefusals,
    )
)]
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

/// Rotate a webhook endpoint's signing secret
///
/// Replaces the secret at once: every delivery from now on, retries of earlier events
/// included, is signed with the new one, which the answer shows once. Takes no body.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    params(("id" = WebhookId, Path, description = "The webhook endpoint's id.")),
    responses(
        (status = 200, description = "The endpoint, with its new secret.", body = WithSecret),
        (status = 404, description = "`not_found`: no such webhook endpoint, or its id does not parse.", body = ErrorBody),
        KeyRefusals,
    )
)]
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
    Ok(HttpResponse::Ok().json(WithSecret::new(&saved)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// Page size, 1 to 500 (default 50). A non-number answers 422 `invalid_query`, a number out of range 422 `validation_failed`.
    #[param(minimum = 1, maximum = 500, default = 50)]
    limit: Option<u32>,
}

/// What a webhook endpoint was sent
///
/// Recent events sent (or being sent) to the endpoint, newest first, with how each delivery
/// stands: state, attempts, the last error and the next attempt.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = WebhookId, Path, description = "The webhook endpoint's id."), DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries.", body = DeliveryList),
        (status = 404, description = "`not_found`: no such webhook endpoint, or its id does not parse.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: an unknown parameter or a `limit` that is not a number; `validation_failed`: `limit` out of range.", body = ErrorBody),
        KeyRefusals,
    )
)]
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
    Ok(HttpResponse::Ok().json(DeliveryList {
        deliveries: records.iter().map(DeliveryView::new).collect(),
    }))
}
