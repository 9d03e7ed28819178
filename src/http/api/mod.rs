//! The REST API under `/api/v1`: bearer API keys, JSON in and out, errors with a stable code.

mod campaigns;
mod charts;
mod google;
mod images;
mod imports;
mod keys;
mod links;
mod load;
mod locations;
mod members;
mod messages;
mod operations;
mod points;
mod programs;
mod reports;
mod rewards;
mod scans;
mod views;
mod webhooks;

use std::sync::OnceLock;

use actix_web::{web, HttpResponse};
use utoipa::OpenApi as _;

use super::error::{json_error, no_method, no_route, query_error};
use crate::domain::api_key::Role;
use crate::http::limits::HttpLimits;
use crate::http::routes::Routes;

/// Roles that may change programs and members.
pub(crate) const MANAGE: &[Role] = &[Role::Admin, Role::Marketer];
/// Roles that may read them (staff look members up at the counter).
pub(crate) const READ: &[Role] = &[Role::Admin, Role::Marketer, Role::Staff];

/// The scope every API path is under.
const SCOPE: &str = "/api/v1";

pub fn configure(cfg: &mut web::ServiceConfig, limits: &HttpLimits) {
    let max_json_bytes = limits.max_json_bytes;
    cfg.service(
        web::scope(SCOPE)
            .app_data(limits.images.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(max_json_bytes)
                    .error_handler(move |err, _req| json_error(err, max_json_bytes).into()),
            )
            .app_data(
                web::QueryConfig::default().error_handler(|err, _req| query_error(err).into()),
            )
            .route("/openapi.json", web::get().to(openapi))
            .configure(scans::configure)
            .configure(reports::configure)
            .configure(charts::configure)
            .configure(|cfg| {
                routes().register(cfg);
            })
            .default_service(web::to(no_route)),
    );
}

/// An API resource whose other methods answer a JSON 405 (actix's own 405 has no body).
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(no_method))
}

/// The routes of the areas whose operations are documented in code (the others still
/// register their own with `configure`).
pub fn routes() -> Routes {
    let mut routes = Routes::new(SCOPE);
    links::routes(&mut routes);
    members::routes(&mut routes);
    points::routes(&mut routes);
    programs::routes(&mut routes);
    keys::routes(&mut routes);
    locations::routes(&mut routes);
    rewards::routes(&mut routes);
    messages::routes(&mut routes);
    webhooks::routes(&mut routes);
    operations::routes(&mut routes);
    google::routes(&mut routes);
    imports::routes(&mut routes);
    campaigns::routes(&mut routes);
    images::routes(&mut routes);
    routes
}

/// The documents of those areas, merged into the whole by `http::openapi`.
fn documents() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        links::Document::openapi(),
        members::Document::openapi(),
        points::Document::openapi(),
        programs::Document::openapi(),
        keys::Document::openapi(),
        locations::Document::openapi(),
        rewards::Document::openapi(),
        messages::Document::openapi(),
        webhooks::Document::openapi(),
        operations::Document::openapi(),
        google::Document::openapi(),
        imports::Document::openapi(),
        campaigns::Document::openapi(),
        images::Document::openapi(),
    ]
}

/// The whole OpenAPI document as `docs/openapi.json` holds it, or what is described twice.
pub fn document_text() -> Result<String, String> {
    crate::http::openapi::text(&crate::http::openapi::document(documents())?)
}

async fn openapi() -> HttpResponse {
    static DOCUMENT: OnceLock<Result<String, String>> = OnceLock::new();
    match DOCUMENT.get_or_init(document_text) {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/json")
            .body(text.clone()),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not build");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests;
