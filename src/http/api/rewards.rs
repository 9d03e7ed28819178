//! A program's rewards catalogue.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{load, resource, views, MANAGE, READ};
use crate::domain::ids::RewardId;
use crate::domain::reward::{Reward, RewardInput};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs/{id}/rewards")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(resource("/programs/{id}/rewards/{reward}").route(web::put().to(update)));
}

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
    Ok(HttpResponse::Created().json(views::reward(&reward)))
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    let rewards = state.store.rewards(&program.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "rewards": rewards.iter().map(views::reward).collect::<Vec<_>>() })))
}

/// Replaces a reward's name, cost and flags. Set `active` to false to retire it.
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
    Ok(HttpResponse::Ok().json(views::reward(&reward)))
}
