//! Reports per program and period, as JSON and as CSV. Definitions: docs/REPORTS.md.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use time::{Date, Duration};
use utoipa::{IntoParams, OpenApi};

use super::{load, MANAGE};
use crate::domain::ids::{ApiKeyId, LocationId, ProgramId};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::openapi::responses::KeyRefusals;
use crate::http::routes::Routes;
use crate::reports::{self, csv::to_csv, Period, Report, ReportQuery};
use crate::state::AppState;
use crate::storage::ScanFilter;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(json_report, csv_report))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_json_report, json_report)
        .add(__path_csv_report, csv_report);
}

/// What a report covers; the charts take the same.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ReportParams {
    #[param(value_type = Option<Period>, inline, default = "day")]
    period: Option<String>,
    /// First day (UTC); default 30 days, 12 weeks or 12 months before `to`.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// Last day, inclusive (UTC); default today.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Only scans at this location.
    #[param(value_type = Option<LocationId>)]
    location_id: Option<String>,
    /// Only scans by this key.
    #[param(value_type = Option<ApiKeyId>)]
    staff_key_id: Option<String>,
}

fn date(field: &str, s: &str) -> Result<Date, Invalid> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, format).map_err(|_| Invalid::new(field, "must be a date as YYYY-MM-DD"))
}

/// The report the request asks for, checked, with its program's locations.
pub(super) async fn build(
    state: &AppState,
    caller: &Caller,
    id: &str,
    params: &ReportParams,
) -> Result<Report, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(state, caller, id).await?;
    let period = params
        .period
        .as_deref()
        .map_or(Ok(Period::Day), Period::parse)?;
    let to = match &params.to {
        Some(s) => date("to", s)?,
        None => state.clock.now().date(),
    };
    let from = match &params.from {
        Some(s) => date("from", s)?,
        None => match period {
            Period::Day => to - Duration::days(29),
            Period::Week => to - Duration::weeks(11),
            Period::Month => to - Duration::days(330),
        },
    };
    reports::periods::boundaries(period, from, to)?;
    let locations = state.store.locations(Some(&program.id)).await?;
    let location = params
        .location_id
        .as_deref()
        .map(|l| {
            LocationId::parse(l)
                .ok()
                .filter(|l| locations.iter().any(|known| known.id == *l))
                .ok_or_else(|| Invalid::new("location_id", "no such location in this program"))
        })
        .transpose()?;
    let staff = params
        .staff_key_id
        .as_deref()
        .map(|k| ApiKeyId::parse(k).map_err(|e| e.within("staff_key_id")))
        .transpose()?;
    let query = ReportQuery {
        program: program.id.clone(),
        period,
        from,
        to,
        filter: ScanFilter { location, staff },
    };
    reports::report(&state.store, &query, &locations)
        .await
        .map_err(|e| store_error(e, "program"))
}

/// Program report
///
/// Enrollment, installs, activity, scans, redemptions, points and the rates, per period and in
/// total, per reward and per location. Definitions: docs/REPORTS.md.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/reports",
    operation_id = "programReport",
    tag = "reports",
    params(("id" = ProgramId, Path, description = "The program's id."), ReportParams),
    responses(
        (status = 200, description = "The report.", body = Report),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: an unknown parameter, or one of the wrong type; `validation_failed`: a value that breaks a rule, named in `field`.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn json_report(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let report = build(&state, &caller, &id, &params).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Program report as CSV
///
/// The same report as CSV: a header, one row per period (`period_start`, `period_end`, then
/// the figures) and a `total` row; undefined rates are empty cells.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/reports.csv",
    operation_id = "programReportCsv",
    tag = "reports",
    params(("id" = ProgramId, Path, description = "The program's id."), ReportParams),
    responses(
        (status = 200, description = "The report.", body = String, content_type = "text/csv", headers(("Content-Disposition" = String, description = "An attachment named after the period and the range, e.g. `passwright-report-week-2026-03-02-2026-03-15.csv`."))),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: an unknown parameter, or one of the wrong type; `validation_failed`: a value that breaks a rule, named in `field`.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn csv_report(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let report = build(&state, &caller, &id, &params).await?;
    let name = format!(
        "passwright-report-{}-{}-{}.csv",
        report.period.as_str(),
        report.from,
        report.to
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .body(to_csv(&report)))
}
