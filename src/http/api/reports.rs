//! Reports per program and period, as JSON and as CSV. Definitions: docs/REPORTS.md.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use time::{Date, Duration};

use super::{load, resource, MANAGE};
use crate::domain::ids::{ApiKeyId, LocationId};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::reports::{self, csv::to_csv, Period, Report, ReportQuery};
use crate::state::AppState;
use crate::storage::ScanFilter;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/programs/{id}/reports").route(web::get().to(json_report)))
        .service(resource("/programs/{id}/reports.csv").route(web::get().to(csv_report)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportParams {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    location_id: Option<String>,
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

async fn json_report(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let report = build(&state, &caller, &id, &params).await?;
    Ok(HttpResponse::Ok().json(report))
}

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
