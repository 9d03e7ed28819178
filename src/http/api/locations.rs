//! Locations: where a program's cards are scanned. Staff pick one on the scanner page.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{load, resource, views, MANAGE, READ};
use crate::domain::scan::LocationInput;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/locations").route(web::get().to(list_all)))
        .service(
            resource("/programs/{id}/locations")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        );
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<LocationInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let location =
        body.into_inner()
            .into_location(&program.id, state.random.as_ref(), state.clock.now())?;
    state.store.insert_location(&location).await?;
    Ok(HttpResponse::Created().json(views::location(&location, &program.name)))
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    let locations = state.store.locations(Some(&program.id)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "locations": locations.iter().map(|l| views::location(l, &program.name)).collect::<Vec<_>>()
    })))
}

/// Every location the key may use, across its programs: what the scanner page offers.
async fn list_all(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let scope = caller.key.program_id.as_ref();
    let programs = state.store.programs(scope).await?;
    let locations = state.store.locations(scope).await?;
    let name = |l: &crate::domain::scan::Location| {
        programs
            .iter()
            .find(|p| p.id == l.program_id)
            .map_or("", |p| p.name.as_str())
            .to_string()
    };
    Ok(HttpResponse::Ok().json(json!({
        "locations": locations.iter().map(|l| views::location(l, &name(l))).collect::<Vec<_>>()
    })))
}
