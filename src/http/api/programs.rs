//! Programs: create, list, read, rename, and replace the design, tiers and earn rules.

mod expiry;
mod tiers;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::views::ProgramView;
use super::{load, MANAGE, READ};
use crate::domain::apple_ids::{PassTypeId, TeamId};
use crate::domain::ids::ProgramId;
use crate::domain::program::{Design, EarnRules, Program, Tier, Tiers};
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{
    Forbidden, InternalError, MalformedBody, PayloadTooLarge, Unauthorized, Unprocessable,
    UnsupportedMediaType,
};
use crate::http::routes::Routes;
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(
    create,
    list,
    get,
    patch,
    put_design,
    tiers::put_tiers,
    put_earn_rules,
    expiry::put_expiry,
    expiry::delete_expiry
))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_get, get)
        .add(__path_patch, patch)
        .add(__path_put_design, put_design)
        .add(tiers::__path_put_tiers, tiers::put_tiers)
        .add(__path_put_earn_rules, put_earn_rules)
        .add(expiry::__path_put_expiry, expiry::put_expiry)
        .add(expiry::__path_delete_expiry, expiry::delete_expiry);
}

#[derive(Serialize, ToSchema)]
struct ProgramList {
    programs: Vec<ProgramView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProgramCreate)]
struct CreateProgram {
    /// Trimmed; no control characters.
    #[schema(min_length = 1, max_length = 80)]
    name: String,
    #[schema(min_length = 1, max_length = 80)]
    organization: String,
    /// Defaults to the configured signing certificate's; any other value is refused with 422
    /// `certificate_mismatch`.
    pass_type_id: Option<String>,
    /// Defaults to the configured signing certificate's; any other value is refused with 422
    /// `certificate_mismatch`.
    team_id: Option<String>,
    #[serde(default)]
    design: Design,
    #[serde(default)]
    #[schema(max_items = 10, default = json!([]))]
    tiers: Vec<Tier>,
    #[serde(default)]
    earn_rules: EarnRules,
}

/// The program must use the pass type id and team id of the configured signing certificate,
/// or no pass of it could ever be signed.
fn apple_ids(
    state: &AppState,
    pass_type_id: Option<&str>,
    team_id: Option<&str>,
) -> Result<(PassTypeId, TeamId), ApiError> {
    let signer = state.cards.signer();
    let pass_type_id = PassTypeId::parse(pass_type_id.unwrap_or(signer.pass_type_id()))?;
    let team_id = TeamId::parse(team_id.unwrap_or(signer.team_id()))?;
    if pass_type_id.as_str() != signer.pass_type_id() || team_id.as_str() != signer.team_id() {
        return Err(ApiError::new(
            ErrorCode::CertificateMismatch,
            format!(
                "the configured Pass Type ID certificate is for {} (team {}); passes for {} (team {}) could not be signed",
                signer.pass_type_id(),
                signer.team_id(),
                pass_type_id.as_str(),
                team_id.as_str()
            ),
        ));
    }
    Ok((pass_type_id, team_id))
}

/// Create a program
///
/// Creates a loyalty program with its design, tiers and earn rules. `pass_type_id` and
/// `team_id` default to those of the configured signing certificate; other values are refused
/// with 422 `certificate_mismatch`. Keys limited to one program cannot create programs (403).
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs",
    operation_id = "createProgram",
    tag = "programs",
    request_body = CreateProgram,
    responses(
        (status = 201, description = "The program.", body = ProgramView),
        (status = 400, response = MalformedBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_body`, `validation_failed` (see `field`, e.g. `tiers[1].threshold`, `design.layout`), or `certificate_mismatch`: the pass type id or team id is not the configured certificate's.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateProgram>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    if caller.program_id.is_some() {
        return Err(ApiError::forbidden(
            "a key limited to one program cannot create programs",
        ));
    }
    let body = body.into_inner();
    let (pass_type_id, team_id) = apple_ids(
        &state,
        body.pass_type_id.as_deref(),
        body.team_id.as_deref(),
    )?;
    let mut program = Program::new(
        ProgramId::generate(state.random.as_ref()),
        text("name", &body.name, 80)?,
        text("organization", &body.organization, 80)?,
        (pass_type_id, team_id),
        state.clock.now(),
    );
    program.design = body.design.validated().map_err(|e| e.within("design"))?;
    program.tiers = Tiers::validated(body.tiers)?;
    program.earn_rules = body
        .earn_rules
        .validated()
        .map_err(|e| e.within("earn_rules"))?;
    state.store.insert_program(&program).await?;
    tracing::info!(program = %program.id, "program created");
    Ok(HttpResponse::Created().json(ProgramView::new(&program)))
}

/// List programs
///
/// All programs, or only the key's program for a key limited to one.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/programs",
    operation_id = "listPrograms",
    tag = "programs",
    responses(
        (status = 200, description = "The programs.", body = ProgramList),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
    )
)]
async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let programs = state.store.programs(caller.program_id.as_ref()).await?;
    Ok(HttpResponse::Ok().json(ProgramList {
        programs: programs.iter().map(ProgramView::new).collect(),
    }))
}

/// Get a program
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}",
    operation_id = "getProgram",
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
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(ProgramView::new(&program)))
}

/// Absent (or `null`) keys stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProgramPatch)]
struct PatchProgram {
    #[schema(min_length = 1, max_length = 80)]
    name: Option<String>,
    #[schema(min_length = 1, max_length = 80)]
    organization: Option<String>,
}

/// Rename a program
///
/// Changes `name` and/or `organization`. Bumps `design_version` (the names appear on the card).
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    patch,
    path = "/api/v1/programs/{id}",
    operation_id = "updateProgram",
    tag = "programs",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    request_body = PatchProgram,
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
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchProgram>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let mut program = load::program(&state, &caller, &id).await?;
    if let Some(name) = &body.name {
        program.name = text("name", name, 80)?;
    }
    if let Some(org) = &body.organization {
        program.organization = text("organization", org, 80)?;
    }
    save(&state, &program).await
}

/// Replace the card design
///
/// Replaces the whole design; absent keys take their defaults. Bumps `design_version`; cards
/// are re-rendered on their next fetch.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/design",
    operation_id = "replaceDesign",
    tag = "programs",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    request_body = Design,
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
async fn put_design(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Design>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let mut program = load::program(&state, &caller, &id).await?;
    program.design = body
        .into_inner()
        .validated()
        .map_err(|e| e.within("design"))?;
    save(&state, &program).await
}

/// Replace the earn rules
///
/// Replaces the earn rules; absent keys take their defaults (1 point per unit, no multipliers).
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/earn_rules",
    operation_id = "replaceEarnRules",
    tag = "programs",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    request_body = EarnRules,
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
async fn put_earn_rules(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<EarnRules>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let mut program = load::program(&state, &caller, &id).await?;
    program.earn_rules = body
        .into_inner()
        .validated()
        .map_err(|e: Invalid| e.within("earn_rules"))?;
    save(&state, &program).await
}

async fn save(state: &AppState, program: &Program) -> Result<HttpResponse, ApiError> {
    let saved = state
        .store
        .update_program(program, state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(ProgramView::new(&saved)))
}
