//! The one-time links a person gets by email (or from `passwright users`): accepting an
//! invitation (with their name and a password) and setting a new password. Each works once,
//! for a while; a used or expired one answers a page saying so. Using one signs the person in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::{public, render, see_other};
use super::page::session_cookie;
use super::ConsoleError;
use crate::accounts::links::LinkError;
use crate::domain::user::{LinkPurpose, NewPassword};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// The form a one-time link opens, or the page saying it no longer works.
async fn link_form(
    state: &AppState,
    token: &str,
    purpose: LinkPurpose,
    typed: Option<(&PasswordForm, &str)>,
) -> Result<HttpResponse, ConsoleError> {
    let user = match state.accounts.open_link(token, purpose).await {
        Ok((_, user)) => user,
        Err(LinkError::Dead) => return Ok(dead_link(purpose)),
        Err(e) => return Err(link_error(e)),
    };
    let (name, error, status) = match typed {
        Some((form, error)) => (
            form.name.clone().unwrap_or_else(|| user.name.clone()),
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        None => (user.name.clone(), None, StatusCode::OK),
    };
    Ok(render(
        status,
        "console/set_password.html",
        &public(json!({
            "invite": purpose == LinkPurpose::Invite,
            "action": crate::accounts::links::path(purpose, token),
            "email": user.email,
            "name": name,
            "error": error,
            "min_chars": NewPassword::MIN_CHARS,
        })),
    ))
}

fn dead_link(purpose: LinkPurpose) -> HttpResponse {
    let (title, text) = match purpose {
        LinkPurpose::Invite => (
            "This invitation no longer works",
            "It has expired or was already used. Ask the person who invited you to send a new one.",
        ),
        LinkPurpose::Reset => (
            "This link no longer works",
            "Password links work once, for a short while. Ask for a new one on the sign-in page (\"Forgot your password?\").",
        ),
    };
    render(
        StatusCode::GONE,
        "console/error.html",
        &public(json!({ "title": title, "text": text, "sign_in_link": true })),
    )
}

fn link_error(e: LinkError) -> ConsoleError {
    match e {
        LinkError::Store(e) => e.into(),
        LinkError::Unexpected(e) => e.into(),
        LinkError::Dead | LinkError::Invalid(_) => {
            anyhow::anyhow!("link error not handled by its form: {e}").into()
        }
    }
}

async fn use_link(
    state: &AppState,
    token: &str,
    purpose: LinkPurpose,
    form: &PasswordForm,
) -> Result<HttpResponse, ConsoleError> {
    if form.password != form.confirm {
        return link_form(
            state,
            token,
            purpose,
            Some((
                form,
                "The two passwords are different. Type the same password twice.",
            )),
        )
        .await;
    }
    let name = form
        .name
        .as_deref()
        .filter(|_| purpose == LinkPurpose::Invite);
    match state
        .accounts
        .use_link(token, purpose, &form.password, name)
        .await
    {
        Ok(signed_in) => {
            let notice = match purpose {
                LinkPurpose::Invite => "welcome",
                LinkPurpose::Reset => "password_set",
            };
            let mut response = see_other(&format!("/console?notice={notice}"));
            response
                .add_cookie(&session_cookie(state, signed_in.token.expose()))
                .map_err(anyhow::Error::from)?;
            Ok(response)
        }
        Err(LinkError::Dead) => Ok(dead_link(purpose)),
        Err(LinkError::Invalid(i)) => {
            link_form(state, token, purpose, Some((form, &i.message))).await
        }
        Err(e) => Err(link_error(e)),
    }
}

/// Invitation page
///
/// What an invitation email links to: the invited person's address, their name to correct,
/// and a password to choose. A used or expired invitation answers 410 with a page saying so.
#[utoipa::path(
    get,
    path = "/console/invite/{token}",
    operation_id = "getConsoleInvite",
    tag = "console",
    security(),
    params(("token" = String, Path, description = "The invitation's one-time token.")),
    responses(
        (status = 200, description = "The form (HTML).", body = String, content_type = "text/html"),
        (status = 410, description = "The invitation was used or has expired.", body = String, content_type = "text/html"),
    )
)]
pub async fn invite_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    link_form(&state, &token, LinkPurpose::Invite, None).await
}

/// Accept an invitation
///
/// Sets the name and password, uses the invitation up, and signs the person in.
#[utoipa::path(
    post,
    path = "/console/invite/{token}",
    operation_id = "postConsoleInvite",
    tag = "console",
    security(),
    params(("token" = String, Path, description = "The invitation's one-time token.")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`name`, `password`, `confirm`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in: to the console.", headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 410, description = "The invitation was used or has expired.", body = String, content_type = "text/html"),
        (status = 422, description = "The password is too short or too long, or the two differ (the form again).", body = String, content_type = "text/html"),
    )
)]
pub async fn accept_invite(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    use_link(&state, &token, LinkPurpose::Invite, &form).await
}

/// Password reset page
///
/// What a reset email links to: a form for the new password. A used or expired link answers
/// 410 with a page saying so.
#[utoipa::path(
    get,
    path = "/console/reset/{token}",
    operation_id = "getConsoleReset",
    tag = "console",
    security(),
    params(("token" = String, Path, description = "The reset link's one-time token.")),
    responses(
        (status = 200, description = "The form (HTML).", body = String, content_type = "text/html"),
        (status = 410, description = "The link was used or has expired.", body = String, content_type = "text/html"),
    )
)]
pub async fn reset_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    link_form(&state, &token, LinkPurpose::Reset, None).await
}

/// Set a new password
///
/// Sets the password, ends every other session of the account (on every device), uses the
/// link up, and signs the person in here.
#[utoipa::path(
    post,
    path = "/console/reset/{token}",
    operation_id = "postConsoleReset",
    tag = "console",
    security(),
    params(("token" = String, Path, description = "The reset link's one-time token.")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`password`, `confirm`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Signed in: to the console.", headers(("Set-Cookie" = String, description = "The session cookie."))),
        (status = 410, description = "The link was used or has expired.", body = String, content_type = "text/html"),
        (status = 422, description = "The password is too short or too long, or the two differ (the form again).", body = String, content_type = "text/html"),
    )
)]
pub async fn reset(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    use_link(&state, &token, LinkPurpose::Reset, &form).await
}
