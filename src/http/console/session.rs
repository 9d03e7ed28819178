//! Signing in and out of the console, and asking for a password-reset link (`links` answers
//! the links themselves). The forms that hold no session yet (sign-in, forgot) are
//! refused when posted from another site (`http::client::same_origin`); sign-out carries the
//! session's CSRF token.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::{public, render, see_other};
use super::page::{local_next, removal_cookie, session_cookie, SignedIn};
use super::ConsoleError;
use crate::accounts::SignInError;
use crate::http::auth::SESSION_COOKIE;
use crate::http::client;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

const CROSS_SITE: &str =
    "This form was sent from another website. Fill it in on this page to continue.";

fn sign_in_form(
    status: StatusCode,
    email: &str,
    next: &str,
    error: Option<String>,
    notice: Option<&str>,
    first_run: bool,
) -> HttpResponse {
    render(
        status,
        "console/sign_in.html",
        &public(json!({
            "email": email,
            "next": next,
            "error": error,
            "notice": notice,
            "first_run": first_run,
        })),
    )
}

/// Sign-in page
///
/// The console's sign-in form: email and password. Someone already signed in goes on to
/// `next` (a console path; anything else means `/console`). On a fresh install with no
/// console users it says how to create the first owner.
#[utoipa::path(
    get,
    path = "/console/sign-in",
    operation_id = "getConsoleSignIn",
    tag = "console",
    security(),
    params(
        ("next" = Option<String>, Query, description = "The console page to go to afterwards."),
        ("notice" = Option<String>, Query, description = "`signed_out` or `everywhere`: says so above the form."),
    ),
    responses(
        (status = 200, description = "The form (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Already signed in: on to `next`."),
    )
)]
pub async fn sign_in_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let next = local_next(query.next.as_deref());
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        if state.accounts.session(cookie.value()).await?.is_some() {
            return Ok(see_other(&next));
        }
    }
    let notice = match query.notice.as_deref() {
        Some("signed_out") => Some("You are signed out."),
        Some("everywhere") => Some("You are signed out on every device."),
        _ => None,
    };
    let first_run = !state.store.has_users().await?;
    Ok(sign_in_form(
        StatusCode::OK,
        "",
        &next,
        None,
        notice,
        first_run,
    ))
}

/// Sign in
///
/// Checks the email and password and opens a session: the `pw_console` cookie (`HttpOnly`,
/// `SameSite=Lax`, `Secure` when the public URL is https), then 303 to `next`. After
/// `console.sign_in_failures_per_account` failures for one address, or
/// `console.sign_in_failures_per_address` from one client, within
/// `console.sign_in_window_minutes`, even the right password is refused until the window
/// has passed. A failed form is shown again with the email kept and the reason in words.
#[utoipa::path(
    post,
    path = "/console/sign-in",
    operation_id = "postConsoleSignIn",
    tag = "console",
    security(),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`email`, `password`, `next`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in: the cookie is set; on to `next`.", headers(("Set-Cookie" = String, description = "`pw_console=…; HttpOnly; SameSite=Lax; Path=/`"))),
        (status = 401, description = "The email and password do not match (the form again).", body = String, content_type = "text/html"),
        (status = 403, description = "The account is switched off, or the form came from another site.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many failed sign-ins: the form again, saying for how long.", body = String, content_type = "text/html"),
    )
)]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    let next = local_next(form.next.as_deref());
    let again =
        |status, error: String| sign_in_form(status, &form.email, &next, Some(error), None, false);
    if !client::same_origin(&req, state.cards.urls().base()) {
        return Ok(again(StatusCode::FORBIDDEN, CROSS_SITE.into()));
    }
    if form.email.trim().is_empty() || form.password.is_empty() {
        return Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address and your password.".into(),
        ));
    }
    let address = client::address(&req, state.accounts.settings.trust_forwarded_for);
    match state
        .accounts
        .sign_in(&form.email, &form.password, &address)
        .await
    {
        Ok(signed_in) => {
            let mut response = see_other(&next);
            response
                .add_cookie(&session_cookie(&state, signed_in.token.expose()))
                .map_err(anyhow::Error::from)?;
            Ok(response)
        }
        Err(e @ SignInError::Mismatch) => Ok(again(StatusCode::UNAUTHORIZED, e.to_string())),
        Err(e @ SignInError::Throttled { .. }) => {
            Ok(again(StatusCode::TOO_MANY_REQUESTS, e.to_string()))
        }
        Err(e @ SignInError::Disabled) => Ok(again(StatusCode::FORBIDDEN, e.to_string())),
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(SignInError::Unexpected(e)) => Err(e.into()),
    }
}

async fn end(
    state: &AppState,
    who: &SignedIn,
    form: &CsrfForm,
    everywhere: bool,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    state
        .accounts
        .sign_out(&who.session, &who.user, everywhere)
        .await?;
    let notice = if everywhere {
        "everywhere"
    } else {
        "signed_out"
    };
    let mut response = see_other(&format!("/console/sign-in?notice={notice}"));
    response
        .add_cookie(&removal_cookie(state))
        .map_err(anyhow::Error::from)?;
    Ok(response)
}

/// Sign out
///
/// Ends this session (the cookie stops working at once, on every instance) and removes the
/// cookie. Needs the form's `csrf` token.
#[utoipa::path(
    post,
    path = "/console/sign-out",
    operation_id = "postConsoleSignOut",
    tag = "console",
    security(("consoleSession" = [])),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out: to the sign-in page."),
        (status = 403, description = "The form's token is not this session's.", body = String, content_type = "text/html"),
    )
)]
pub async fn sign_out(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    end(&state, &who, &form, false).await
}

/// Sign out everywhere
///
/// Ends every session of the signed-in person, on every device. Needs the form's `csrf` token.
#[utoipa::path(
    post,
    path = "/console/sign-out-everywhere",
    operation_id = "postConsoleSignOutEverywhere",
    tag = "console",
    security(("consoleSession" = [])),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed out everywhere: to the sign-in page."),
        (status = 403, description = "The form's token is not this session's.", body = String, content_type = "text/html"),
    )
)]
pub async fn sign_out_everywhere(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    end(&state, &who, &form, true).await
}

fn forgot_form(status: StatusCode, email: &str, error: Option<&str>, sent: bool) -> HttpResponse {
    render(
        status,
        "console/forgot.html",
        &public(json!({ "email": email, "error": error, "sent": sent })),
    )
}

/// Forgotten password page
///
/// Asks for the email address to send a password-reset link to.
#[utoipa::path(
    get,
    path = "/console/forgot",
    operation_id = "getConsoleForgot",
    tag = "console",
    security(),
    responses((status = 200, description = "The form (HTML).", body = String, content_type = "text/html"))
)]
pub async fn forgot_page() -> HttpResponse {
    forgot_form(StatusCode::OK, "", None, false)
}

/// Ask for a password-reset link
///
/// Emails a one-time link (valid `console.reset_minutes`) to the account of that address, if
/// there is one that may sign in; the page says the same either way, so it tells nobody which
/// addresses have accounts. A second request within two minutes sends nothing more.
#[utoipa::path(
    post,
    path = "/console/forgot",
    operation_id = "postConsoleForgot",
    tag = "console",
    security(),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`email`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 200, description = "\"Check your inbox\" (HTML).", body = String, content_type = "text/html"),
        (status = 403, description = "The form came from another site.", body = String, content_type = "text/html"),
        (status = 422, description = "No email address was typed.", body = String, content_type = "text/html"),
    )
)]
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, ConsoleError> {
    if !client::same_origin(&req, state.cards.urls().base()) {
        return Ok(forgot_form(
            StatusCode::FORBIDDEN,
            &form.email,
            Some(CROSS_SITE),
            false,
        ));
    }
    if !form.email.contains('@') {
        return Ok(forgot_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.email,
            Some("Enter the email address you sign in with, like ana@example.com."),
            false,
        ));
    }
    state.accounts.request_reset(&form.email).await?;
    Ok(forgot_form(StatusCode::OK, &form.email, None, true))
}
