//! Replacing a program's tiers, which moves every member to the tier their lifetime points
//! now reach; the body's schema is the list of at most 10 tiers.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::ids::ProgramId;
use crate::domain::program::{Tier, Tiers};
use crate::http::api::views::ProgramView;
use crate::http::api::{load, MANAGE};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::openapi::responses::{
    Forbidden, InternalError, MalformedBody, PayloadTooLarge, Unauthorized, Unprocessable,
    UnsupportedMediaType,
};
use crate::state::AppState;

/// Replace the tiers
///
/// Replaces all tiers (at most 10; `[]` removes them). In the same transaction every member
/// moves to the tier their lifetime points now reach. Bumps `design_version`.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/tiers",
    operation_id = "replaceTiers",
    tag = "programs",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    request_body = inline(TiersInput),
    responses(
        (status = 200, description = "The updated program.", body = ProgramView),
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
pub(super) async fn put_tiers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<TiersInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let tiers = Tiers::validated(body.into_inner().0)?;
    let saved = state
        .store
        .set_tiers(&program.id, &tiers, state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(ProgramView::new(&saved)))
}

/// All of a program's tiers, replacing the ones it had.
#[derive(Deserialize)]
pub(super) struct TiersInput(Vec<Tier>);

/// At most 10 tiers.
impl utoipa::PartialSchema for TiersInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name(Tier::name()))
            .max_items(Some(10))
            .into()
    }
}

impl ToSchema for TiersInput {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            Tier::name().into(),
            <Tier as utoipa::PartialSchema>::schema(),
        ));
        <Tier as ToSchema>::schemas(schemas);
    }
}
