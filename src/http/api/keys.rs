//! API keys, for admins: create (the secret is in the answer, once), list, revoke.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::clock::rfc3339;
use crate::domain::api_key::{ApiKey, Role};
use crate::domain::ids::{ApiKeyId, ProgramId};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{BodyRefusals, InternalError, KeyRefusals, Unauthorized};
use crate::http::routes::Routes;
use crate::keys::{self, KeyError};
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(create, list, revoke, me))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_revoke, revoke)
        .add(__path_me, me);
}

// A key as the API answers it (never its secret). Fields in alphabetical order, the order
// the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = ApiKey)]
struct KeyView {
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    id: ApiKeyId,
    name: String,
    /// The program the key is limited to; `null` for all programs.
    #[schema(required = true)]
    program_id: Option<ProgramId>,
    /// RFC 3339; `null` while the key works.
    #[schema(required = true, format = DateTime)]
    revoked_at: Option<String>,
    role: Role,
}

impl KeyView {
    fn new(k: &ApiKey) -> KeyView {
        KeyView {
            created_at: rfc3339(k.created_at),
            id: k.id.clone(),
            name: k.name.clone(),
            program_id: k.program_id.clone(),
            revoked_at: k.revoked_at.map(rfc3339),
            role: k.role,
        }
    }
}

/// A new key, with its secret. The secret is shown only here; only its hash is kept.
// Fields in alphabetical order, as in `KeyView`.
#[derive(Serialize, ToSchema)]
#[schema(as = ApiKeyCreated)]
struct CreatedKey {
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    id: ApiKeyId,
    name: String,
    /// The program the key is limited to; `null` for all programs.
    #[schema(required = true)]
    program_id: Option<ProgramId>,
    /// RFC 3339; `null` while the key works.
    #[schema(required = true, format = DateTime)]
    revoked_at: Option<String>,
    role: Role,
    /// Send as `Authorization: Bearer <secret>`.
    #[schema(pattern = "^pw_[a-z2-7]{32}$")]
    secret: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ApiKeyList)]
struct KeyList {
    /// Revoked keys included.
    keys: Vec<KeyView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApiKeyInput)]
struct CreateKey {
    #[schema(min_length = 1, max_length = 80)]
    name: String,
    role: Role,
    /// Limit the key to this (existing) program.
    #[schema(value_type = Option<ProgramId>)]
    program_id: Option<String>,
}

/// The calling key
///
/// The API key the request is made with (never its secret): how the scanner and dashboard
/// pages check a sign-in.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "whoAmI",
    tag = "keys",
    responses(
        (status = 200, description = "The key.", body = KeyView),
        KeyRefusals,
    )
)]
async fn me(caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(KeyView::new(caller.key("naming the calling key")?)))
}

/// Create an API key
///
/// Creates a key and answers its secret, once. An admin key limited to a program can only
/// create keys for that program.
///
/// Roles: `admin`.
#[utoipa::path(
    post,
    path = "/api/v1/keys",
    operation_id = "createApiKey",
    tag = "keys",
    request_body = CreateKey,
    responses(
        (status = 201, description = "The key, with its secret.", body = CreatedKey),
        (status = 401, response = Unauthorized),
        (status = 403, description = "`forbidden`: not an admin key, or a key limited to another program.", body = ErrorBody),
        (status = 422, description = "`invalid_body`: wrong shape (e.g. an unknown role); `validation_failed`: an empty name, or a `program_id` that is malformed or names no program.", body = ErrorBody),
        (status = 500, response = InternalError),
        BodyRefusals,
    )
)]
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
    } else if caller.program_id.is_some() {
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
    let KeyView {
        created_at,
        id,
        name,
        program_id,
        revoked_at,
        role,
    } = KeyView::new(&key);
    Ok(HttpResponse::Created().json(CreatedKey {
        created_at,
        id,
        name,
        program_id,
        revoked_at,
        role,
        secret: secret.expose().to_string(),
    }))
}

/// List API keys
///
/// All keys (never their secrets), revoked ones included; a key limited to a program sees
/// only that program's keys.
///
/// Roles: `admin`.
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    operation_id = "listApiKeys",
    tag = "keys",
    responses(
        (status = 200, description = "The keys.", body = KeyList),
        KeyRefusals,
    )
)]
async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let keys: Vec<_> = state
        .store
        .api_keys()
        .await?
        .into_iter()
        .filter(|k| caller.program_id.is_none() || k.program_id == caller.program_id)
        .collect();
    Ok(HttpResponse::Ok().json(KeyList {
        keys: keys.iter().map(KeyView::new).collect(),
    }))
}

/// Revoke an API key
///
/// The key stops working at once on this instance (401 `api_key_revoked`), and within
/// `server.api_key_cache_ms` (1 s by default) on others. Revoking a revoked key changes
/// nothing. Takes no body.
///
/// Roles: `admin`.
#[utoipa::path(
    post,
    path = "/api/v1/keys/{id}/revoke",
    operation_id = "revokeApiKey",
    tag = "keys",
    params(("id" = ApiKeyId, Path, description = "The API key's id.")),
    responses(
        (status = 200, description = "The revoked key.", body = KeyView),
        (status = 404, description = "`not_found`: no such key (or one outside the caller's program).", body = ErrorBody),
        KeyRefusals,
    )
)]
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
    if caller.program_id.is_some() && existing.program_id != caller.program_id {
        return Err(ApiError::not_found("API key"));
    }
    let key = state
        .store
        .revoke_api_key(&id, state.clock.now())
        .await
        .map_err(|e| store_error(e, "API key"))?;
    // After the database says revoked, so a concurrent lookup cannot cache it again.
    state.api_keys.forget(&id);
    Ok(HttpResponse::Ok().json(KeyView::new(&key)))
}
