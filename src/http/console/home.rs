//! `/`: the front door, pointing to the console, the staff scanner and the API description;
//! `/console`: the console's home, with the programs the person can see and where to go next.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::{public, render};
use super::page::SignedIn;
use super::ConsoleError;
use crate::state::AppState;

/// The service's front page
///
/// Links to the console (`/console`), the staff scanner (`/staff`) and the API description
/// (`/api/v1/openapi.json`), instead of an empty 404.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "getFrontPage",
    tag = "console",
    security(),
    responses((status = 200, description = "The page (HTML).", body = String, content_type = "text/html"))
)]
pub async fn root() -> HttpResponse {
    render(StatusCode::OK, "console/front.html", &public(json!({})))
}

#[derive(Deserialize)]
pub struct HomeQuery {
    notice: Option<String>,
}

/// Console home
///
/// The programs the signed-in person can see, with links to their reports, and the person's
/// account (sign out on every device). Not signed in: 303 to the sign-in page.
#[utoipa::path(
    get,
    path = "/console",
    operation_id = "getConsoleHome",
    tag = "console",
    security(("consoleSession" = [])),
    params(("notice" = Option<String>, Query, description = "`welcome` or `password_set`: says so at the top.")),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/console/sign-in?next=/console`."),
    )
)]
pub async fn home(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<HomeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let programs = state.store.programs(who.user.program_id.as_ref()).await?;
    let mut context = who.context("home");
    context["notice"] = json!(match query.notice.as_deref() {
        Some("welcome") => Some("Welcome! Your password is set and you are signed in."),
        Some("password_set") =>
            Some("Your new password is set. You were signed out everywhere else."),
        _ => None,
    });
    context["programs"] = json!(programs
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name, "organization": p.organization }))
        .collect::<Vec<_>>());
    context["scoped"] = json!(who.user.program_id.is_some());
    context["can_design"] = json!(who.can_design());
    context["can_create"] = json!(who.can_design() && who.user.program_id.is_none());
    Ok(render(StatusCode::OK, "console/home.html", &context))
}
