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

use actix_web::{web, HttpResponse};

use super::error::{json_error, no_method, no_route, query_error};
use crate::domain::api_key::Role;
use crate::http::limits::HttpLimits;

/// Roles that may change programs and members.
pub(crate) const MANAGE: &[Role] = &[Role::Admin, Role::Marketer];
/// Roles that may read them (staff look members up at the counter).
pub(crate) const READ: &[Role] = &[Role::Admin, Role::Marketer, Role::Staff];

/// The OpenAPI document, kept by hand next to the code it describes.
const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub fn configure(cfg: &mut web::ServiceConfig, limits: &HttpLimits) {
    let max_json_bytes = limits.max_json_bytes;
    cfg.service(
        web::scope("/api/v1")
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
            .configure(programs::configure)
            .configure(rewards::configure)
            .configure(images::configure)
            .configure(members::configure)
            .configure(messages::configure)
            .configure(points::configure)
            .configure(keys::configure)
            .configure(locations::configure)
            .configure(scans::configure)
            .configure(reports::configure)
            .configure(charts::configure)
            .configure(google::configure)
            .configure(operations::configure)
            .configure(webhooks::configure)
            .configure(campaigns::configure)
            .configure(imports::configure)
            .configure(links::configure)
            .default_service(web::to(no_route)),
    );
}

/// An API resource whose other methods answer a JSON 405 (actix's own 405 has no body).
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(no_method))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
