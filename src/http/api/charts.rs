//! The dashboard's charts, rendered here as SVG from the same report the JSON answers.

use actix_web::{web, HttpResponse};
use utoipa::{OpenApi, ToSchema};

use super::reports::{build, ReportParams};
use crate::domain::ids::ProgramId;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi::responses::KeyRefusals;
use crate::http::routes::Routes;
use crate::reports::charts::{bar_chart, funnel, line_chart, ValueFormat};
use crate::reports::Report;
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(chart))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_chart, chart);
}

// The charts there are, by the name in the path (no doc comment: the parameter describes them).
#[derive(Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
enum ChartName {
    RedemptionRate,
    Funnel,
    TopRewards,
    Locations,
}

impl ChartName {
    fn parse(s: &str) -> Option<ChartName> {
        match s {
            "redemption_rate" => Some(ChartName::RedemptionRate),
            "funnel" => Some(ChartName::Funnel),
            "top_rewards" => Some(ChartName::TopRewards),
            "locations" => Some(ChartName::Locations),
            _ => None,
        }
    }

    fn render(self) -> fn(&Report) -> String {
        match self {
            ChartName::RedemptionRate => redemption_rate,
            ChartName::Funnel => member_funnel,
            ChartName::TopRewards => top_rewards,
            ChartName::Locations => by_location,
        }
    }
}

/// A report chart as SVG
///
/// One of the dashboard's charts, rendered on the server as accessible SVG (`role=img`,
/// title, labelled values) from the same report as the JSON, with the same filters.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/reports/charts/{name}.svg",
    operation_id = "programReportChart",
    tag = "reports",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
        ("name" = inline(ChartName), Path, description = "`redemption_rate`: points redemption rate per period; `funnel`: enrolled, installed, active, redeemed members; `top_rewards`: redemptions per reward; `locations`: accepted scans per location."),
        ReportParams,
    ),
    responses(
        (status = 200, description = "The chart.", body = String, content_type = "image/svg+xml", headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 404, description = "`not_found`: no such program or chart.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: an unknown parameter, or one of the wrong type; `validation_failed`: a value that breaks a rule, named in `field`.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn chart(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let render = ChartName::parse(&name)
        .ok_or_else(|| ApiError::not_found("chart"))?
        .render();
    let report = build(&state, &caller, &id, &params).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "no-store"))
        .body(render(&report)))
}

/// Points redeemed / points earned, per period.
fn redemption_rate(r: &Report) -> String {
    let points: Vec<(String, Option<f64>)> = r
        .periods
        .iter()
        .map(|p| (p.start.to_string(), p.metrics.points_redemption_rate))
        .collect();
    line_chart("Points redemption rate", &points, ValueFormat::Percent)
}

/// Enrolled -> installed -> active -> redeemed, over the whole range.
fn member_funnel(r: &Report) -> String {
    let t = &r.totals;
    funnel(
        "Members: enrolled, installed, active, redeemed",
        &[
            ("Enrolled".to_string(), t.members_enrolled),
            ("Installed".to_string(), t.cards_installed),
            ("Active".to_string(), t.active_members),
            ("Redeemed".to_string(), t.members_redeeming),
        ],
    )
}

fn top_rewards(r: &Report) -> String {
    let bars: Vec<(String, f64)> = r
        .rewards
        .iter()
        .take(10)
        .map(|w| (w.name.clone(), w.redemptions as f64))
        .collect();
    bar_chart("Top rewards (redemptions)", &bars, ValueFormat::Count)
}

fn by_location(r: &Report) -> String {
    let bars: Vec<(String, f64)> = r
        .locations
        .iter()
        .map(|l| (l.name.clone(), l.metrics.scans_accepted as f64))
        .collect();
    bar_chart("Accepted scans by location", &bars, ValueFormat::Count)
}
