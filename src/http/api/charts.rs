//! The dashboard's charts, rendered here as SVG from the same report the JSON answers.

use actix_web::{web, HttpResponse};

use super::reports::{build, ReportParams};
use super::resource;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::reports::charts::{bar_chart, funnel, line_chart, ValueFormat};
use crate::reports::Report;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/programs/{id}/reports/charts/{name}.svg").route(web::get().to(chart)));
}

async fn chart(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let render: fn(&Report) -> String = match name.as_str() {
        "redemption_rate" => redemption_rate,
        "funnel" => member_funnel,
        "top_rewards" => top_rewards,
        "locations" => by_location,
        _ => return Err(ApiError::not_found("chart")),
    };
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
