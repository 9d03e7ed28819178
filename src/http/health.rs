//! `/healthz` (the process answers) and `/readyz` (and can reach its database).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::routes::Routes;
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct Document;

/// Other methods answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes
        .add(__path_healthz, healthz)
        .add(__path_readyz, readyz);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes().register(cfg);
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
}

/// Liveness
///
/// Answers while the process runs. No key needed.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "getHealth",
    tag = "operations",
    responses(
        (status = 200, description = "Alive: `{\"status\": \"ok\"}`.", body = Health),
    ),
    security(),
)]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness
///
/// Answers 200 when the database is reachable. No key needed.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "getReadiness",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\"}`.", body = Health),
        (status = 503, description = "The database is unreachable: `{\"status\": \"database unavailable\"}`.", body = Health),
    ),
    security(),
)]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(Health { status: "ready" }),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "database unavailable",
            })
        }
    }
}
