//! `GET /c/{code}/qr.svg` and `/c/{code}/qr.png`: the link's QR code for print, encoding the
//! link's full public address. `?size=` asks for a side in pixels (64 to 2048).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{live_link, LandingError};
use crate::domain::distribution::LinkKind;
use crate::qr::QrMatrix;
use crate::state::AppState;

const MIN_SIZE: u32 = 64;
const MAX_SIZE: u32 = 2048;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SizeQuery {
    /// The side in pixels, 64 to 2048 (default 512).
    #[param(minimum = 64, maximum = 2048)]
    size: Option<u32>,
}

/// The code for the link, and how its image may be cached: an enrollment link is public, a
/// personal one is nobody else's business.
async fn matrix(
    state: &AppState,
    code: &str,
    query: Result<web::Query<SizeQuery>, actix_web::Error>,
    default: u32,
) -> Result<(QrMatrix, u32, &'static str), LandingError> {
    let size = match query {
        Ok(q) => q.size.unwrap_or(default),
        Err(_) => return Err(LandingError::BadSize),
    };
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return Err(LandingError::BadSize);
    }
    let link = live_link(state, code).await?;
    let matrix = QrMatrix::new(&state.cards.urls().link(&link.code))?;
    let cache = match link.kind {
        LinkKind::Enroll => "public, max-age=3600",
        LinkKind::Card => "private, max-age=3600",
    };
    Ok((matrix, size, cache))
}

/// The link's QR code as SVG (public)
///
/// The QR code of the link's full address (`{public base url}/c/{code}`), for print. Cacheable
/// for an hour: publicly for enrollment links, privately for personal ones.
#[utoipa::path(
    get,
    path = "/c/{code}/qr.svg",
    operation_id = "getLinkQrSvg",
    tag = "landing",
    security(),
    params(
        ("code" = String, Path, description = "The link's code (the last part of its URL)."),
        SizeQuery,
    ),
    responses(
        (status = 200, description = "The image.", body = String, content_type = "image/svg+xml", headers(("Cache-Control" = String, description = "`public, max-age=3600` or `private, max-age=3600`."))),
        (status = 400, description = "`size` out of bounds.", body = String, content_type = "text/html"),
        (status = 404, description = "No such link (or the code does not parse): a page saying so.", body = String, content_type = "text/html"),
        (status = 410, description = "The link was revoked (\"This link is no longer valid\"), or the member's card was cancelled.", body = String, content_type = "text/html"),
        (status = 500, description = "Something went wrong on our side (logged).", body = String, content_type = "text/html"),
    )
)]
pub async fn svg(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: Result<web::Query<SizeQuery>, actix_web::Error>,
) -> Result<HttpResponse, LandingError> {
    let (matrix, size, cache) = matrix(&state, &code, query, 512).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(matrix.svg(size, "QR code")))
}

/// The link's QR code as PNG (public)
///
/// The QR code of the link's full address (`{public base url}/c/{code}`), for print. Cacheable
/// for an hour: publicly for enrollment links, privately for personal ones.
#[utoipa::path(
    get,
    path = "/c/{code}/qr.png",
    operation_id = "getLinkQrPng",
    tag = "landing",
    security(),
    params(
        ("code" = String, Path, description = "The link's code (the last part of its URL)."),
        SizeQuery,
    ),
    responses(
        (status = 200, description = "The image.", body = String, content_type = "image/png", headers(("Cache-Control" = String, description = "`public, max-age=3600` or `private, max-age=3600`."))),
        (status = 400, description = "`size` out of bounds.", body = String, content_type = "text/html"),
        (status = 404, description = "No such link (or the code does not parse): a page saying so.", body = String, content_type = "text/html"),
        (status = 410, description = "The link was revoked (\"This link is no longer valid\"), or the member's card was cancelled.", body = String, content_type = "text/html"),
        (status = 500, description = "Something went wrong on our side (logged).", body = String, content_type = "text/html"),
    )
)]
pub async fn png(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: Result<web::Query<SizeQuery>, actix_web::Error>,
) -> Result<HttpResponse, LandingError> {
    let (matrix, size, cache) = matrix(&state, &code, query, 512).await?;
    let bytes = matrix.png(size)?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}
