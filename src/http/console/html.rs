//! Answering with a console page: a template rendered with the headers every page sends, the
//! context of a page for someone not signed in, and the redirect after a form. Used by the
//! pages and by `error` alike, so it uses neither.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde_json::{json, Value};

/// Scripts, styles and connections only from our own origin, so nothing a person typed (a
/// program's name, a member's) can run in a page.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Renders `template` with `context` as a page answered with `status`.
pub fn render(status: StatusCode, template: &str, context: &Value) -> HttpResponse {
    match crate::templates::render(template, context) {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // Forms then carry our Origin (`http::client::same_origin`), and a one-time link's
            // address never leaves for another site.
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, template, "rendering a console page failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong on our side. Try again in a moment.")
        }
    }
}

/// A page for someone not signed in: no navigation, no form token.
pub fn public(extra: Value) -> Value {
    let mut context = json!({ "user": null, "csrf": null, "section": "", "notice": null });
    if let (Value::Object(base), Value::Object(extra)) = (&mut context, extra) {
        base.extend(extra);
    }
    context
}

/// A 303 to `location` (after a form, the browser fetches the next page with GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
