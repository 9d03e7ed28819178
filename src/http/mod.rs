//! HTTP areas: the REST API, public pass downloads, landing pages, the console, health checks and metrics. Each area registers its
//! own routes. The areas whose operations are documented in code are listed in [`routes`] and
//! [`documents`]; [`document_text`] is the whole OpenAPI document (`docs/openapi.json`).

pub mod api;
pub mod auth;
pub mod client;
pub mod console;
pub mod downloads;
pub mod error;
pub mod error_code;
pub mod google;
mod health;
mod images;
pub mod landing;
pub mod limits;
mod metrics;
pub mod openapi;
pub mod pages;
pub mod passkit;
pub mod routes;

use actix_web::http::header::{
    self, ContentDisposition, DispositionParam, DispositionType, HttpDate,
};
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use utoipa::OpenApi as _;

use crate::cards::SignedPass;
use crate::http::error_code::ErrorCode;
use crate::wallet::apple::PKPASS_CONTENT_TYPE;
use limits::HttpLimits;
use routes::Routes;

pub fn configure(cfg: &mut web::ServiceConfig, limits: &HttpLimits) {
    health::configure(cfg);
    metrics::configure(cfg);
    downloads::configure(cfg);
    images::configure(cfg);
    google::configure(cfg);
    passkit::configure(cfg, limits.passkit.clone());
    cfg.app_data(served());
    api::configure(cfg, limits);
    pages::configure(cfg);
    console::configure(cfg);
    landing::configure(cfg, limits.landing.clone());
}

/// Every area's routes registered from their documentation, as each area's `configure`
/// registers them.
pub fn routes() -> Vec<Routes> {
    vec![
        api::routes(),
        passkit::routes(),
        downloads::routes(),
        images::routes(),
        google::routes(),
        health::routes(),
        metrics::routes(),
        pages::routes(),
        console::routes(),
        landing::routes(),
    ]
}

/// The documents of those areas, merged into the whole by `http::openapi`.
pub fn documents() -> Vec<utoipa::openapi::OpenApi> {
    let mut documents = api::documents();
    documents.extend(pages::documents());
    documents.push(landing::Document::openapi());
    documents.push(console::Document::openapi());
    documents.extend([
        passkit::Document::openapi(),
        downloads::Document::openapi(),
        images::Document::openapi(),
        google::Document::openapi(),
        health::Document::openapi(),
        metrics::Document::openapi(),
    ]);
    documents
}

/// The whole OpenAPI document as `docs/openapi.json` holds it, or what is described twice.
pub fn document_text() -> Result<String, String> {
    openapi::text(&openapi::document(documents())?)
}

/// The document `GET /api/v1/openapi.json` answers, built once.
fn served() -> web::Data<openapi::Served> {
    static DOCUMENT: OnceLock<web::Data<openapi::Served>> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| web::Data::new(openapi::Served(document_text())))
        .clone()
}

/// Runs `work` to its end even when the client goes away, on `runtime`. actix drops a
/// request's future when its connection closes; a write cut off in the middle of its trip to
/// SQLite makes the writes committed together with it fail too (see `storage/writer/sqlite.rs`).
/// On the main runtime rather than the HTTP worker's own, the write turn a task waits for is
/// handed to it without waiting for that worker to finish parsing and answering requests:
/// 2,350–2,600 scan actions/s instead of 2,050–2,300 (docs/BENCHMARKS.md).
pub(crate) async fn to_the_end<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, error::ApiError> {
    match runtime.spawn(work).await {
        Ok(out) => Ok(out),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(error::ApiError::new(
            ErrorCode::ShuttingDown,
            "the server is shutting down; try again",
        )),
    }
}

/// HTTP dates have whole seconds.
fn http_date(t: time::OffsetDateTime) -> SystemTime {
    let secs = u64::try_from(t.unix_timestamp()).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// How a pass is handed over.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// Shown by the browser: Safari on an iPhone offers "Add to Apple Wallet" straight away.
    Inline,
    /// Saved as a file, for integrations.
    Attachment,
}

/// A `.pkpass` answer with `Last-Modified`, honouring `If-Modified-Since` with a 304.
pub fn pass_response(req: &HttpRequest, pass: &SignedPass, delivery: Delivery) -> HttpResponse {
    let disposition = ContentDisposition {
        disposition: match delivery {
            Delivery::Inline => DispositionType::Inline,
            Delivery::Attachment => DispositionType::Attachment,
        },
        parameters: vec![DispositionParam::Filename(pass.file_name.clone())],
    };
    let modified = http_date(pass.last_modified);
    let unchanged = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| modified <= since);
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header(header::LastModified(HttpDate::from(modified)))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(PKPASS_CONTENT_TYPE)
        .insert_header(header::LastModified(HttpDate::from(modified)))
        .insert_header(disposition)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(pass.bytes.clone())
}

#[cfg(test)]
mod tests;
