//! Locations: where a program's cards are scanned. Staff pick one on the scanner page.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{load, MANAGE, READ};
use crate::clock::rfc3339;
use crate::domain::ids::{LocationId, ProgramId};
use crate::domain::scan::{Location, LocationInput};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi::responses::{BodyRefusals, KeyRefusals, Unprocessable};
use crate::http::routes::Routes;
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(list_all, create, list))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_list_all, list_all)
        .add(__path_create, create)
        .add(__path_list, list);
}

// A location as the API answers it. Fields in alphabetical order, the order the answer
// always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Location)]
struct LocationView {
    #[schema(required = true)]
    address: Option<String>,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    created_at: String,
    id: LocationId,
    name: String,
    program_id: ProgramId,
    program_name: String,
}

impl LocationView {
    fn new(l: &Location, program_name: &str) -> LocationView {
        LocationView {
            address: l.address.clone(),
            created_at: rfc3339(l.created_at),
            id: l.id.clone(),
            name: l.name.clone(),
            program_id: l.program_id.clone(),
            program_name: program_name.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct LocationList {
    locations: Vec<LocationView>,
}

/// Add a location
///
/// Adds a place where the program's cards are scanned.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/locations",
    operation_id = "createLocation",
    tag = "counter",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    request_body = LocationInput,
    responses(
        (status = 201, description = "The location.", body = LocationView),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 409, description = "`location_name_taken`: the program has a location with that name.", body = ErrorBody),
        (status = 422, response = Unprocessable),
        KeyRefusals,
        BodyRefusals,
    )
)]
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
    Ok(HttpResponse::Created().json(LocationView::new(&location, &program.name)))
}

/// List a program's locations
///
/// The program's locations.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/locations",
    operation_id = "listLocations",
    tag = "counter",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    responses(
        (status = 200, description = "The locations.", body = LocationList),
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
    let locations = state.store.locations(Some(&program.id)).await?;
    Ok(HttpResponse::Ok().json(LocationList {
        locations: locations
            .iter()
            .map(|l| LocationView::new(l, &program.name))
            .collect(),
    }))
}

/// Locations the key may use
///
/// Every location of every program the key may access, with the program's name: what the
/// scanner page offers.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/locations",
    operation_id = "listAllLocations",
    tag = "counter",
    responses(
        (status = 200, description = "The locations.", body = LocationList),
        KeyRefusals,
    )
)]
async fn list_all(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let scope = caller.program_id.as_ref();
    let programs = state.store.programs(scope).await?;
    let locations = state.store.locations(scope).await?;
    let name = |l: &Location| {
        programs
            .iter()
            .find(|p| p.id == l.program_id)
            .map_or("", |p| p.name.as_str())
    };
    Ok(HttpResponse::Ok().json(LocationList {
        locations: locations
            .iter()
            .map(|l| LocationView::new(l, name(l)))
            .collect(),
    }))
}
