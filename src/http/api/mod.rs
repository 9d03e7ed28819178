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
pub(crate) mod members;
mod messages;
mod operations;
mod points;
mod programs;
mod reports;
mod rewards;
mod scans;
mod views;
mod webhooks;

use actix_web::web;
use utoipa::OpenApi as _;

use super::error::{json_error, no_route, query_error};
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
            .configure(|cfg| {
                routes().register(cfg);
            })
            .default_service(web::to(no_route)),
    );
}

/// Every API route, registered at the method and path its documentation names.
pub fn routes() -> Routes {
    let mut routes = Routes::new(SCOPE);
    // The whole document, which `http` builds from every area and hands over as app data.
    routes.add(
        crate::http::openapi::__path_serve,
        crate::http::openapi::serve,
    );
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
    scans::routes(&mut routes);
    reports::routes(&mut routes);
    charts::routes(&mut routes);
    campaigns::routes(&mut routes);
    images::routes(&mut routes);
    routes
}

/// The documents of those areas, merged into the whole by `http::openapi`.
pub fn documents() -> Vec<utoipa::openapi::OpenApi> {
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
        scans::Document::openapi(),
        reports::Document::openapi(),
        charts::Document::openapi(),
        campaigns::Document::openapi(),
        images::Document::openapi(),
    ]
}
