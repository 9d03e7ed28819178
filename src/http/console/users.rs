//! `/console/users`, for owners: the people who can sign in, inviting one more by email,
//! switching someone off (their sessions end at once) or on again, and sending an invitation
//! again. Every change is in the audit log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::html::{render, see_other};
use super::page::SignedIn;
use super::ConsoleError;
use crate::accounts::{AccountError, UserForm};
use crate::domain::ids::{ProgramId, UserId};
use crate::domain::program::Program;
use crate::domain::user::{parse_role, role_label, User};
use crate::state::AppState;
use crate::storage::{Conflict, StoreError};

#[derive(Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    program: String,
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
}

fn user_row(u: &User, me: &User, programs: &[Program]) -> Value {
    let program = u.program_id.as_ref().map(|id| {
        programs
            .iter()
            .find(|p| &p.id == id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    });
    let status = if u.disabled_at.is_some() {
        "Switched off"
    } else if !u.has_password {
        "Invited"
    } else {
        "Active"
    };
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "role": role_label(u.role),
        "program": program.unwrap_or_else(|| "All programs".into()),
        "status": status,
        "disabled": u.disabled_at.is_some(),
        "invited": !u.has_password && u.disabled_at.is_none(),
        "is_me": u.id == me.id,
    })
}

async fn users_page(
    state: &AppState,
    who: &SignedIn,
    status: StatusCode,
    form: &InviteForm,
    error: Option<String>,
    notice: Option<&str>,
) -> Result<HttpResponse, ConsoleError> {
    let programs = state.store.programs(None).await?;
    let users = state.store.users(None).await?;
    let mut context = who.context("users");
    context["notice"] = json!(notice);
    context["users"] = json!(users
        .iter()
        .map(|u| user_row(u, &who.user, &programs))
        .collect::<Vec<_>>());
    context["programs"] = json!(programs
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name }))
        .collect::<Vec<_>>());
    context["form"] = json!({
        "email": form.email,
        "name": form.name,
        "role": if form.role.is_empty() { "marketer" } else { form.role.as_str() },
        "program": form.program,
    });
    context["error"] = json!(error);
    Ok(render(status, "console/users.html", &context))
}

/// People
///
/// Owners only: everyone who can sign in to the console, with their role, program and state
/// (active, invited, switched off), and the form to invite someone.
#[utoipa::path(
    get,
    path = "/console/users",
    operation_id = "getConsoleUsers",
    tag = "console",
    security(("consoleSession" = [])),
    params(("notice" = Option<String>, Query, description = "What the last change did, said at the top.")),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Not an owner.", body = String, content_type = "text/html"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require_owner()?;
    let notice = match query.notice.as_deref() {
        Some("invited") => Some("Invitation sent. The link in it works for a week."),
        Some("resent") => Some("Invitation sent again."),
        Some("recently") => Some(
            "An invitation went to that address less than two minutes ago; nothing more was sent.",
        ),
        Some("disabled") => Some("Switched off. Their sessions have ended."),
        Some("enabled") => Some("Switched on again. They can sign in."),
        _ => None,
    };
    users_page(
        &state,
        &who,
        StatusCode::OK,
        &InviteForm::default(),
        None,
        notice,
    )
    .await
}

/// Invite someone
///
/// Owners only. Adds a console user with a role (owner, marketer, staff) and, except for
/// owners, optionally one program, and emails them a one-time link to choose their password
/// (valid `console.invite_hours`). A refused form is shown again with what was typed and the
/// reason.
#[utoipa::path(
    post,
    path = "/console/users",
    operation_id = "postConsoleUser",
    tag = "console",
    security(("consoleSession" = [])),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `email`, `name`, `role` (`owner`, `marketer`, `staff`), `program` (an id, or empty for all).", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Invited: back to the page."),
        (status = 403, description = "Not an owner, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 409, description = "There is already an account for that address (the form again).", body = String, content_type = "text/html"),
        (status = 422, description = "Something in the form cannot work (the form again, saying what).", body = String, content_type = "text/html"),
    )
)]
pub async fn invite(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.require_owner()?;
    who.check_form(&form.csrf)?;
    let refuse = |status, why: String| users_page(&state, &who, status, &form, Some(why), None);
    let Ok(role) = parse_role(&form.role) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a role: owner, marketer or staff.".into(),
        )
        .await;
    };
    let program = match form.program.trim() {
        "" => None,
        p => match ProgramId::parse(p) {
            Ok(p) => Some(p),
            Err(_) => {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "That program no longer exists.".into(),
                )
                .await
            }
        },
    };
    let user_form = UserForm {
        email: &form.email,
        name: &form.name,
        role,
        program,
    };
    let added = state
        .accounts
        .add_user(&user_form, None, true, &who.user.actor(), &who.user.name)
        .await;
    match added {
        Ok(_) => Ok(see_other("/console/users?notice=invited")),
        Err(AccountError::Invalid(e)) => {
            let why = match e.field.as_str() {
                "email" => "Enter the person's email address, like ana@example.com.".to_string(),
                "program" => e.message,
                field => format!("The {field}: {}", e.message),
            };
            refuse(StatusCode::UNPROCESSABLE_ENTITY, why).await
        }
        Err(AccountError::UnknownProgram(_)) => {
            refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "That program no longer exists.".into(),
            )
            .await
        }
        Err(AccountError::Store(StoreError::Conflict(Conflict::EmailTaken))) => {
            refuse(
                StatusCode::CONFLICT,
                "There is already an account for that address.".into(),
            )
            .await
        }
        Err(AccountError::Store(e)) => Err(e.into()),
        Err(AccountError::Unexpected(e)) => Err(e.into()),
    }
}

/// The user of `id`, for an owner acting on them.
async fn target(
    state: &AppState,
    who: &SignedIn,
    id: &str,
    csrf: &str,
) -> Result<User, ConsoleError> {
    who.require_owner()?;
    who.check_form(csrf)?;
    let id = UserId::parse(id).map_err(|_| ConsoleError::NotFound)?;
    Ok(state.store.user(&id).await?)
}

/// Switch someone off
///
/// Owners only. The person can no longer sign in, and every session of theirs ends at once.
/// Nobody can switch themselves off.
#[utoipa::path(
    post,
    path = "/console/users/{id}/disable",
    operation_id = "postConsoleUserDisable",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The user's id (`usr_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Done: back to the page."),
        (status = 403, description = "Not an owner, the form's token is not this session's, or it is your own account.", body = String, content_type = "text/html"),
        (status = 404, description = "No such user.", body = String, content_type = "text/html"),
    )
)]
pub async fn disable(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let user = target(&state, &who, &id, &form.csrf).await?;
    if user.id == who.user.id {
        return Err(ConsoleError::Forbidden(
            "You cannot switch off your own account. Another owner can.",
        ));
    }
    state.accounts.set_disabled(&user, true, &who.user).await?;
    Ok(see_other("/console/users?notice=disabled"))
}

/// Switch someone on again
///
/// Owners only. The person can sign in again with their password.
#[utoipa::path(
    post,
    path = "/console/users/{id}/enable",
    operation_id = "postConsoleUserEnable",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The user's id (`usr_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Done: back to the page."),
        (status = 403, description = "Not an owner, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such user.", body = String, content_type = "text/html"),
    )
)]
pub async fn enable(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let user = target(&state, &who, &id, &form.csrf).await?;
    state.accounts.set_disabled(&user, false, &who.user).await?;
    Ok(see_other("/console/users?notice=enabled"))
}

/// Send an invitation again
///
/// Owners only, for someone who has not chosen a password yet: emails a new one-time link
/// (the earlier ones keep working until they expire). Nothing more is sent within two
/// minutes of the last one.
#[utoipa::path(
    post,
    path = "/console/users/{id}/invitation",
    operation_id = "postConsoleUserInvitation",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The user's id (`usr_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Sent (or sent very recently): back to the page, saying which."),
        (status = 403, description = "Not an owner, the form's token is not this session's, or the person has a password already.", body = String, content_type = "text/html"),
        (status = 404, description = "No such user.", body = String, content_type = "text/html"),
    )
)]
pub async fn resend(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let user = target(&state, &who, &id, &form.csrf).await?;
    if user.has_password || user.disabled_at.is_some() {
        return Err(ConsoleError::Forbidden(
            "Invitations are for people who have not chosen a password yet and are switched on. Someone who forgot theirs can reset it on the sign-in page.",
        ));
    }
    let sent = state.accounts.resend_invitation(&user, &who.user).await?;
    Ok(see_other(if sent {
        "/console/users?notice=resent"
    } else {
        "/console/users?notice=recently"
    }))
}
