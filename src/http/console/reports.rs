//! `/console/reports`: a program's report per day, week or month, filtered by location and
//! staff key, with the charts the reports API draws (`reports::charts`), the campaigns'
//! funnels and a CSV download. The page's script (`assets/reports.js`) calls the API with the
//! session cookie. `/admin`, where the reports were before there was a console, leads here.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::render;
use super::page::SignedIn;
use super::ConsoleError;

#[derive(Deserialize)]
pub struct ReportsQuery {
    program: Option<String>,
}

/// Reports
///
/// For owners and marketers: pick a program, a period (day, week, month), dates, a location
/// and a staff key; the page shows the report's figures, four charts inlined as SVG from
/// `/api/v1/programs/{id}/reports/charts/{name}.svg`, each campaign's funnel, and downloads
/// the CSV, all fetched with the session.
#[utoipa::path(
    get,
    path = "/console/reports",
    operation_id = "getConsoleReports",
    tag = "console",
    security(("consoleSession" = [])),
    params(("program" = Option<String>, Query, description = "The program to choose first.")),
    responses(
        (status = 200, description = "The page (HTML). Its scripts and style sheets are under `/assets/`.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff accounts have no reports.", body = String, content_type = "text/html"),
    )
)]
pub async fn page(
    who: SignedIn,
    query: web::Query<ReportsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    if !who.can_report() {
        return Err(ConsoleError::Forbidden(
            "Reports are for owners and marketers. Staff accounts work at the counter.",
        ));
    }
    let mut context = who.context("reports");
    context["program"] = json!(query.program.as_deref().unwrap_or(""));
    Ok(render(StatusCode::OK, "console/reports.html", &context))
}

/// The old dashboard's address
///
/// The reports moved into the console: a permanent redirect to `/console/reports`.
#[utoipa::path(
    get,
    path = "/admin",
    operation_id = "getAdminPage",
    tag = "console",
    security(),
    responses((status = 308, description = "To `/console/reports`."))
)]
pub async fn old_dashboard() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/reports"))
        .finish()
}
