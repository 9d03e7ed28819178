//! Rendering a landing page: the template, the program's branding, and the headers every
//! landing page sends. The style sheet is inlined (one round trip on a slow phone) and allowed
//! by its hash in the Content-Security-Policy, so the pages run no script and accept no
//! other inline style.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::domain::program::{Colors, Program};

const CSS: &str = include_str!("../../../assets/landing.css");

/// The style sheet with the program's colours as custom properties.
fn style(colors: &Colors) -> String {
    format!(
        ":root{{--brand-bg:{};--brand-fg:{};--brand-label:{}}}\n{CSS}",
        colors.background.hex(),
        colors.foreground.hex(),
        colors.label.hex()
    )
}

/// The content security policy for a page whose only inline style is `style`.
fn content_security_policy(style: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The branding a page shows: name, organization and logo.
pub fn branding(program: &Program) -> Value {
    json!({
        "name": program.name,
        "organization": program.organization,
        "logo": format!("/images/{}/logo@2x.png", program.id),
    })
}

/// Renders `template` with `context`, adding `style`, as a page answered with `status`.
pub fn page(status: StatusCode, template: &str, mut context: Value) -> HttpResponse {
    page_for(status, template, None, &mut context)
}

/// Like `page`, in `program`'s colours and with its branding as `program`.
pub fn program_page(
    status: StatusCode,
    template: &str,
    program: &Program,
    mut context: Value,
) -> HttpResponse {
    context["program"] = branding(program);
    page_for(status, template, Some(&program.design.colors), &mut context)
}

fn page_for(
    status: StatusCode,
    template: &str,
    colors: Option<&Colors>,
    context: &mut Value,
) -> HttpResponse {
    let style = style(colors.unwrap_or(&Colors::default()));
    context["style"] = json!(style);
    let html = match crate::templates::render(template, &*context) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, template, "rendering a landing page failed");
            return HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong on our side.");
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(&style),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The browser then sends our Origin with the enrollment form (see `client`), and never
        // a personal link's address to another site.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        // Card pages show a member's name and points: never kept by a shared cache.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}
