//! A program's rewards catalogue.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{load, MANAGE, READ};
use crate::clock::rfc3339;
use crate::domain::ids::{ProgramId, RewardId};
use crate::domain::reward::{Reward, RewardInput};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::openapi::responses::{BodyRefusals, KeyRefusals, Unprocessable};
use crate::http::routes::Routes;
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(create, list, update))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_update, update);
}

// A reward as the API answers it. Fields in alphabetical order, the order the answer always
// had.
#[derive(Serialize, ToSchema)]
#[schema(as = Reward)]
struct RewardView {
    active: bool,
    /// Points.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    cost: i64,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    id: RewardId,
    name: String,
    program_id: ProgramId,
    /// A single-use reward can be redeemed once per member; a repeatable one any number of
    /// times.
    repeatable: bool,
}

impl RewardView {
    fn new(r: &Reward) -> RewardView {
        RewardView {
            active: r.active,
            cost: r.cost.value(),
            created_at: rfc3339(r.created_at),
            id: r.id.clone(),
            name: r.name.clone(),
            program_id: r.program_id.clone(),
            repeatable: r.repeatable,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct RewardList {
    rewards: Vec<RewardView>,
}

/// Add a reward
///
/// Adds a reward to the program's catalogue.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/rewards",
    operation_id = "createReward",
    tag = "rewards",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    request_body = RewardInput,
    responses(
        (status = 201, description = "The reward.", body = RewardView),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, response = Unprocessable),
        KeyRefusals,
        BodyRefusals,
    )
)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RewardInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let spec = body.into_inner().validated()?;
    let reward = Reward::create(&program.id, spec, state.random.as_ref(), state.clock.now());
    state.store.insert_reward(&reward).await?;
    Ok(HttpResponse::Created().json(RewardView::new(&reward)))
}

/// List rewards
///
/// The program's rewards, retired ones (`active: false`) included.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/rewards",
    operation_id = "listRewards",
    tag = "rewards",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    responses(
        (status = 200, description = "The rewards.", body = RewardList),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    let rewards = state.store.rewards(&program.id).await?;
    Ok(HttpResponse::Ok().json(RewardList {
        rewards: rewards.iter().map(RewardView::new).collect(),
    }))
}

/// Replace a reward
///
/// Replaces the reward's name, cost and flags (absent `repeatable` becomes false, absent
/// `active` true). Set `active` to false to retire it.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/rewards/{reward}",
    operation_id = "replaceReward",
    tag = "rewards",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
        ("reward" = RewardId, Path, description = "The reward's id."),
    ),
    request_body = RewardInput,
    responses(
        (status = 200, description = "The updated reward.", body = RewardView),
        (status = 404, description = "`not_found`: no such program, or no such reward in it.", body = ErrorBody),
        (status = 422, response = Unprocessable),
        KeyRefusals,
        BodyRefusals,
    )
)]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<RewardInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (id, reward_id) = path.into_inner();
    let program = load::program(&state, &caller, &id).await?;
    let reward_id = RewardId::parse(&reward_id).map_err(|_| ApiError::not_found("reward"))?;
    let spec = body.into_inner().validated()?;
    let reward = state
        .store
        .update_reward(&program.id, &reward_id, &spec, state.clock.now())
        .await
        .map_err(|e| store_error(e, "reward"))?;
    Ok(HttpResponse::Ok().json(RewardView::new(&reward)))
}
