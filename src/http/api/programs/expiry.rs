//! A program's points expiry: set (months after earning, with reminders) or stopped.

use actix_web::{web, HttpResponse};

use crate::domain::expiry::ExpiryPolicy;
use crate::domain::ids::ProgramId;
use crate::http::api::views::ProgramView;
use crate::http::api::{load, MANAGE};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::openapi::responses::{
    Forbidden, InternalError, MalformedBody, PayloadTooLarge, Unauthorized, Unprocessable,
    UnsupportedMediaType,
};
use crate::state::AppState;

/// Set points expiry
///
/// Points expire `months` after they were earned, oldest unspent first, as `expire` ledger
/// entries made by a scheduled run (`outbox.expiry_interval_s`, or `passwright expire`).
/// Reminders `reminder_days` before.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/expiry",
    operation_id = "setExpiry",
    tag = "programs",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    request_body = ExpiryPolicy,
    responses(
        (status = 200, description = "The program.", body = ProgramView),
        (status = 400, response = MalformedBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
    )
)]
pub(super) async fn put_expiry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ExpiryPolicy>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let policy = body.into_inner().validated()?;
    let saved = state
        .store
        .set_expiry(&program.id, Some(&policy), state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(ProgramView::new(&saved)))
}

/// Stop points expiring
///
/// Points stop expiring; entries already expired stay in the ledger.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    delete,
    path = "/api/v1/programs/{id}/expiry",
    operation_id = "clearExpiry",
    tag = "programs",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    responses(
        (status = 200, description = "The program.", body = ProgramView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
pub(super) async fn delete_expiry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let saved = state
        .store
        .set_expiry(&program.id, None, state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(ProgramView::new(&saved)))
}
