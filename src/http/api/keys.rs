//! API keys, for admins: create (the secret is in the answer, once), list, revoke.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::resource;
use super::views;
use crate::domain::api_key::Role;
use crate::domain::ids::{ApiKeyId, ProgramId};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::error_code::ErrorCode;
use crate::keys::{self, KeyError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/keys")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(resource("/keys/{id}/revoke").route(web::post().to(revoke)))
    .service(resource("/me").route(web::get().to(me)));
}

/// The key a request is made with: how the scanner and dashboard pages check a sign-in.
async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(views::api_key(&caller.key))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    role: Role,
    program_id: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body.into_inner();
    let program = body
        .program_id
        .as_deref()
        .map(ProgramId::parse)
        .transpose()
        .map_err(|e| Invalid::new("program_id", e.message))?;
    if let Some(p) = &program {
        caller.check_program(p)?;
    } else if caller.key.program_id.is_some() {
        return Err(ApiError::forbidden(
            "a key limited to one program can only create keys for that program",
        ));
    }
    let (key, secret) = keys::create(
        &state.store,
        state.random.as_ref(),
        &body.name,
        body.role,
        program,
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        KeyError::Invalid(i) => i.into(),
        KeyError::UnknownProgram(_) => ApiError::new(ErrorCode::ValidationFailed, e.to_string()),
        KeyError::Store(s) => s.into(),
    })?;
    let mut body = views::api_key(&key);
    body["secret"] = json!(secret.expose());
    Ok(HttpResponse::Created().json(body))
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let keys: Vec<_> = state
        .store
        .api_keys()
        .await?
        .into_iter()
        .filter(|k| caller.key.program_id.is_none() || k.program_id == caller.key.program_id)
        .collect();
    Ok(HttpResponse::Ok()
        .json(json!({ "keys": keys.iter().map(views::api_key).collect::<Vec<_>>() })))
}

async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = ApiKeyId::parse(&id).map_err(|_| ApiError::not_found("API key"))?;
    let existing = state
        .store
        .api_key(&id)
        .await
        .map_err(|e| store_error(e, "API key"))?;
    // A scoped admin does not learn that keys of other programs exist.
    if caller.key.program_id.is_some() && existing.program_id != caller.key.program_id {
        return Err(ApiError::not_found("API key"));
    }
    let key = state
        .store
        .revoke_api_key(&id, state.clock.now())
        .await
        .map_err(|e| store_error(e, "API key"))?;
    // After the database says revoked, so a concurrent lookup cannot cache it again.
    state.api_keys.forget(&id);
    Ok(HttpResponse::Ok().json(views::api_key(&key)))
}
