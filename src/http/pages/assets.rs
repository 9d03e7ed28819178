//! `/assets/{asset}`: the pages' scripts and style sheet, and the vendored QR decoder. Served as
//! files because the pages' Content-Security-Policy allows no inline script or style. Each
//! answer carries an ETag of its content, so a phone revalidates cheaply and never keeps a
//! script older than the page that loads it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use utoipa::OpenApi;

use crate::http::routes::Routes;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("pages.css", CSS, include_str!("../../../assets/pages.css")),
    ("common.js", JS, include_str!("../../../assets/common.js")),
    ("staff.js", JS, include_str!("../../../assets/staff.js")),
    ("reports.js", JS, include_str!("../../../assets/reports.js")),
    (
        "designer.js",
        JS,
        include_str!("../../../assets/designer.js"),
    ),
    ("import.js", JS, include_str!("../../../assets/import.js")),
    (
        "console.css",
        CSS,
        include_str!("../../../assets/console.css"),
    ),
    // jsQR 1.4.0 (Apache-2.0): see assets/vendor/README.md.
    (
        "jsQR.js",
        JS,
        include_str!("../../../assets/vendor/jsQR.js"),
    ),
];

/// The area's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(asset))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_asset, asset);
}

/// Quoted strong ETags of the assets, in the order of `ASSETS`, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, body)| format!("\"{}\"", hex::encode(&Sha256::digest(body)[..12])))
            .collect()
    })
}

/// A script or style sheet of the pages
///
/// The pages' JavaScript and CSS, and the bundled QR decoder (jsQR 1.4.0, Apache-2.0). Answers
/// carry an `ETag` and `Cache-Control: no-cache`; `If-None-Match` with the current tag answers
/// 304.
#[utoipa::path(
    get,
    path = "/assets/{asset}",
    operation_id = "getPageAsset",
    tag = "pages",
    security(),
    params(
        ("asset" = String, Path, description = "The file."),
    ),
    responses(
        (status = 200, description = "The file.", content((String = "text/javascript"), (String = "text/css")), headers(("ETag" = String, description = "A tag of the content."))),
        (status = 304, description = "Unchanged since the tag in `If-None-Match`."),
        (status = 404, description = "No such asset. The body says so in plain text.", body = String, content_type = "text/plain"),
    )
)]
async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(i) = ASSETS.iter().position(|(n, _, _)| *n == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("no such asset");
    };
    let (_, content_type, body) = ASSETS[i];
    let etag = &etags()[i];
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut answer = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        answer.finish()
    } else {
        answer.content_type(content_type).body(body)
    }
}
