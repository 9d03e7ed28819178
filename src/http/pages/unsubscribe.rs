//! `/u/{token}`: the unsubscribe page an email or SMS links to, and the target of a mail
//! client's one-click unsubscribe (RFC 8058). GET only asks for confirmation, because mail
//! scanners and link previews open every link; POST (the page's form, or the one-click body
//! `List-Unsubscribe=One-Click`) withdraws the member's consent for that channel and records
//! where it came from. Server-rendered, no JavaScript, branded with the program's colours.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{OpenApi, ToSchema};

use crate::domain::distribution::{ConsentSource, MessageChannel};
use crate::domain::ids::random_base32;
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::storage::{MemberKey, StoreError};
use crate::templates;

const TEMPLATE: &str = "pages/unsubscribe.html";

/// The page's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(confirm, unsubscribe))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_confirm, confirm)
        .add(__path_unsubscribe, unsubscribe);
}

/// The POST body: the page's form (`confirm`) or a mail client's one-click
/// `List-Unsubscribe=One-Click`. Read as bytes (`is_one_click`), so this only describes it.
struct UnsubscribeForm;

impl utoipa::PartialSchema for UnsubscribeForm {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "List-Unsubscribe",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["One-Click"])),
            )
            .property("confirm", ObjectBuilder::new().schema_type(Type::String))
            .into()
    }
}

impl ToSchema for UnsubscribeForm {}

/// Unsubscribe page
///
/// The page an email's or SMS's unsubscribe link opens, branded with the program's colours,
/// without JavaScript. It only asks for confirmation: opening it changes nothing, because mail
/// scanners and link previews open every link.
#[utoipa::path(
    get,
    path = "/u/{token}",
    operation_id = "getUnsubscribePage",
    tag = "pages",
    security(),
    params(
        ("token" = String, Path, description = "The signed unsubscribe token from the message: `<member id>.<channel>.<mac>`."),
    ),
    responses(
        (status = 200, description = "The confirmation page (HTML) with a form that POSTs to the same URL.", body = String, content_type = "text/html", headers(("Content-Security-Policy" = String, description = "Nothing but this page's own style block (by nonce); forms post only to this origin."))),
        (status = 404, description = "The token does not verify (changed, cut short) or names no member: a page saying the link is not valid.", body = String, content_type = "text/html"),
    )
)]
async fn confirm(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match lookup(&state, &token).await {
        Ok(Some((_, program, channel))) => respond(
            &state,
            StatusCode::OK,
            "confirm",
            Some(&program),
            channel,
            &token,
        ),
        Ok(None) => invalid(&state),
        Err(e) => failed(e),
    }
}

/// Unsubscribe
///
/// Withdraws the member's consent for the token's channel and shows a confirmation. Takes the
/// page's form, or a mail client's one-click unsubscribe (RFC 8058, body
/// `List-Unsubscribe=One-Click`, as the `List-Unsubscribe-Post` header of every email
/// announces); the consent history records `unsubscribe_link` or `list_unsubscribe`.
/// Unsubscribing twice is harmless.
#[utoipa::path(
    post,
    path = "/u/{token}",
    operation_id = "unsubscribe",
    tag = "pages",
    security(),
    params(
        ("token" = String, Path, description = "The signed unsubscribe token from the message: `<member id>.<channel>.<mac>`."),
    ),
    request_body(content = inline(UnsubscribeForm), content_type = "application/x-www-form-urlencoded", description = "Optional."),
    responses(
        (status = 200, description = "Unsubscribed: the confirmation page (HTML).", body = String, content_type = "text/html", headers(("Content-Security-Policy" = String, description = "Nothing but this page's own style block (by nonce); forms post only to this origin."))),
        (status = 404, description = "The token does not verify (changed, cut short) or names no member: a page saying the link is not valid.", body = String, content_type = "text/html"),
        (status = 503, description = "The database could not be reached; try again later (plain text).", body = String, content_type = "text/plain"),
    )
)]
async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (member, program, channel) = match lookup(&state, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(&state),
        Err(e) => return failed(e),
    };
    let source = if is_one_click(&body) {
        ConsentSource::ListUnsubscribe
    } else {
        ConsentSource::UnsubscribeLink
    };
    let changed = state
        .store
        .set_consent(&member.id, channel, false, source, state.clock.now())
        .await;
    match changed {
        Ok(changed) => {
            tracing::info!(member = %member.id, channel = channel.as_str(), source = source.as_str(), changed, "unsubscribed");
            respond(
                &state,
                StatusCode::OK,
                "done",
                Some(&program),
                channel,
                &token,
            )
        }
        Err(e) => failed(e),
    }
}

/// RFC 8058's body, form-encoded or as a multipart form field.
fn is_one_click(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .any(|p| p.trim() == "List-Unsubscribe=One-Click")
        || (text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click"))
}

/// The member and channel a valid token names; `None` for a token that does not verify or
/// names no member.
async fn lookup(
    state: &AppState,
    token: &str,
) -> Result<Option<(Member, std::sync::Arc<Program>, MessageChannel)>, StoreError> {
    let Ok((member, channel)) = state.unsubscribe.verify(token) else {
        return Ok(None);
    };
    match state.store.member_and_program(MemberKey::Id(&member)).await {
        Ok((member, program)) => Ok(Some((member, program, channel))),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
struct PageProgram<'a> {
    name: &'a str,
    organization: &'a str,
}

#[derive(Serialize)]
struct Colors {
    background: String,
    foreground: String,
}

#[derive(Serialize)]
struct Page<'a> {
    state: &'a str,
    program: Option<PageProgram<'a>>,
    colors: Colors,
    channel_name: &'a str,
    action: String,
    nonce: &'a str,
}

fn respond(
    state: &AppState,
    status: StatusCode,
    page_state: &str,
    program: Option<&Program>,
    channel: MessageChannel,
    token: &str,
) -> HttpResponse {
    let nonce = random_base32(state.random.as_ref(), 16);
    let colors = match program {
        Some(p) => Colors {
            background: p.design.colors.background.hex(),
            foreground: p.design.colors.foreground.hex(),
        },
        None => Colors {
            background: "#1f2328".into(),
            foreground: "#ffffff".into(),
        },
    };
    let page = Page {
        state: page_state,
        program: program.map(|p| PageProgram {
            name: &p.name,
            organization: &p.organization,
        }),
        colors,
        channel_name: match channel {
            MessageChannel::Email => "emails",
            MessageChannel::Sms => "text messages",
        },
        action: format!("/u/{token}"),
        nonce: &nonce,
    };
    let html = match templates::render(TEMPLATE, &page) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "rendering the unsubscribe page failed");
            return HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong. Please try again later.");
        }
    };
    // Only the style block carrying this response's nonce applies: a member's or program's
    // name can never bring in style or script of its own.
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The token is in the URL: nothing may carry it on to another site or into a cache.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(html)
}

fn invalid(state: &AppState) -> HttpResponse {
    respond(
        state,
        StatusCode::NOT_FOUND,
        "invalid",
        None,
        MessageChannel::Email,
        "",
    )
}

fn failed(e: StoreError) -> HttpResponse {
    tracing::error!(error = ?e, "unsubscribe page: storage failed");
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::RETRY_AFTER, "30"))
        .body("Something went wrong on our side. Please try again in a minute.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies_are_recognised() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(b"x=1&List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--"
        ));
        assert!(!is_one_click(b"confirm=yes"));
        assert!(!is_one_click(b""));
    }
}
