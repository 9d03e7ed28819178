//! Programs: create, list, read, rename, and replace the design, tiers and earn rules.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{load, resource, views, MANAGE, READ};
use crate::clock::whole_seconds;
use crate::domain::apple_ids::{PassTypeId, TeamId};
use crate::domain::expiry::ExpiryPolicy;
use crate::domain::ids::ProgramId;
use crate::domain::program::{Design, EarnRules, Program, Tier, Tiers};
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::error_code::ErrorCode;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        resource("/programs/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch)),
    )
    .service(resource("/programs/{id}/design").route(web::put().to(put_design)))
    .service(resource("/programs/{id}/tiers").route(web::put().to(put_tiers)))
    .service(resource("/programs/{id}/earn_rules").route(web::put().to(put_earn_rules)))
    .service(
        resource("/programs/{id}/expiry")
            .route(web::put().to(put_expiry))
            .route(web::delete().to(delete_expiry)),
    );
}

/// Points expire `months` after they were earned, oldest first; cards show a reminder
/// `reminder_days` before.
async fn put_expiry(
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
    Ok(HttpResponse::Ok().json(views::program(&saved)))
}

/// Points stop expiring (entries already expired stay in the ledger).
async fn delete_expiry(
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
    Ok(HttpResponse::Ok().json(views::program(&saved)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateProgram {
    name: String,
    organization: String,
    pass_type_id: Option<String>,
    team_id: Option<String>,
    #[serde(default)]
    design: Design,
    #[serde(default)]
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

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateProgram>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    if caller.key.program_id.is_some() {
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
    let now = state.clock.now();
    let program = Program {
        id: ProgramId::generate(state.random.as_ref()),
        name: text("name", &body.name, 80)?,
        organization: text("organization", &body.organization, 80)?,
        pass_type_id,
        team_id,
        design: body.design.validated().map_err(|e| e.within("design"))?,
        tiers: Tiers::validated(body.tiers)?,
        earn_rules: body
            .earn_rules
            .validated()
            .map_err(|e| e.within("earn_rules"))?,
        design_version: 1,
        created_at: now,
        updated_at: now,
        pass_modified: whole_seconds(now),
        expiry: None,
    };
    state.store.insert_program(&program).await?;
    tracing::info!(program = %program.id, "program created");
    Ok(HttpResponse::Created().json(views::program(&program)))
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let programs = state.store.programs(caller.key.program_id.as_ref()).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "programs": programs.iter().map(views::program).collect::<Vec<_>>() })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(views::program(&program)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchProgram {
    name: Option<String>,
    organization: Option<String>,
}

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
    Ok(HttpResponse::Ok().json(views::program(&saved)))
}

/// Replaces all tiers; members move to the tier their lifetime points now reach.
async fn put_tiers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Vec<Tier>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let tiers = Tiers::validated(body.into_inner())?;
    let saved = state
        .store
        .set_tiers(&program.id, &tiers, state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(views::program(&saved)))
}
