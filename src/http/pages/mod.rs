//! The browser pages outside the console: the staff scanner (`/staff`, static HTML, CSS and
//! JavaScript embedded in the binary that talk to the REST API with the key the till signs in
//! with), the server-rendered unsubscribe page (`/u/{token}`, see `unsubscribe`), and the
//! scripts and style sheets every page loads (`/assets/…`, the console's included).

mod assets;
mod staff;
mod unsubscribe;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::http::routes::Routes;

/// Scripts and styles only from our own origin, so nothing injected into a page (a member's
/// name, an SVG label) can run. `blob:` images are the camera frames; `connect-src` is the API.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The pages' routes. Other methods answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    staff::routes(&mut routes);
    assets::routes(&mut routes);
    unsubscribe::routes(&mut routes);
    routes
}

/// The pages' operations, as documented.
pub fn documents() -> Vec<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi as _;
    vec![
        staff::Document::openapi(),
        assets::Document::openapi(),
        unsubscribe::Document::openapi(),
    ]
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes().register(cfg);
}

/// An HTML page with the headers every page sends.
fn page(html: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html)
}
