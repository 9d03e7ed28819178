//! Reports for marketers: what happened in a program per day, week or month, from the raw
//! counts storage provides. Every figure is defined in docs/REPORTS.md; the definitions
//! below are the same, in code.

pub mod charts;
pub mod csv;
pub mod periods;

use serde::Serialize;
use time::{Date, OffsetDateTime, Time};
use utoipa::ToSchema;

use crate::clock::to_micros;
use crate::domain::ids::{ProgramId, RewardId};
use crate::domain::scan::Location;
use crate::storage::{Counts, ScanFilter, Store, StoreError};
pub use periods::Period;

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub program: ProgramId,
    pub period: Period,
    pub from: Date,
    /// Inclusive.
    pub to: Date,
    pub filter: ScanFilter,
}

/// The figures for one period (or the whole range).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[schema(
    as = ReportMetrics,
    description = "Definitions: docs/REPORTS.md. Rates are `null` when their denominator is zero."
)]
pub struct Metrics {
    pub members_enrolled: i64,
    pub cards_installed: i64,
    pub apple_registrations: i64,
    pub google_saves: i64,
    pub cards_removed: i64,
    pub active_members: i64,
    pub scans_accepted: i64,
    pub scans_rejected: i64,
    pub redemptions: i64,
    /// Distinct members with at least one redemption.
    pub members_redeeming: i64,
    pub purchases: i64,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub points_expired: i64,
    pub members_at_start: i64,
    pub members_at_end: i64,
    #[schema(required = true)]
    pub points_redemption_rate: Option<f64>,
    #[schema(required = true)]
    pub member_redemption_rate: Option<f64>,
    #[schema(required = true)]
    pub repeat_visit_rate: Option<f64>,
    #[schema(required = true)]
    pub purchase_frequency: Option<f64>,
    /// In the program's currency, rounded to cents.
    #[schema(required = true)]
    pub average_purchase_value: Option<f64>,
    #[schema(required = true)]
    pub retention: Option<f64>,
}

/// `a / b`, rounded to four decimals; `None` when `b` is zero (the figure is undefined).
fn ratio(a: i64, b: i64) -> Option<f64> {
    (b != 0).then(|| ((a as f64 / b as f64) * 10_000.0).round() / 10_000.0)
}

impl From<&Counts> for Metrics {
    fn from(c: &Counts) -> Self {
        Metrics {
            members_enrolled: c.enrolled,
            cards_installed: c.apple_installs + c.google_installs,
            apple_registrations: c.apple_installs,
            google_saves: c.google_installs,
            cards_removed: c.cards_removed,
            active_members: c.active_members,
            scans_accepted: c.scans_accepted,
            scans_rejected: c.scans_rejected,
            redemptions: c.redemptions,
            members_redeeming: c.redeeming_members,
            purchases: c.purchases,
            points_earned: c.points_earned,
            points_redeemed: c.points_redeemed,
            points_expired: c.points_expired,
            members_at_start: c.members_start,
            members_at_end: c.members_end,
            points_redemption_rate: ratio(c.points_redeemed, c.points_earned),
            member_redemption_rate: ratio(c.redeeming_members, c.members_end),
            repeat_visit_rate: ratio(c.repeat_visitors, c.visiting_members),
            purchase_frequency: ratio(c.purchases, c.purchasing_members),
            average_purchase_value: (c.purchases != 0)
                .then(|| (c.purchase_minor as f64 / c.purchases as f64).round() / 100.0),
            retention: ratio(c.members_end - c.enrolled, c.members_start),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodRow {
    #[serde(serialize_with = "ymd")]
    #[schema(value_type = String, format = Date)]
    pub start: Date,
    /// Exclusive.
    #[serde(serialize_with = "ymd")]
    #[schema(value_type = String, format = Date)]
    pub end: Date,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RewardRow {
    pub reward_id: RewardId,
    pub name: String,
    pub redemptions: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationRow {
    pub location_id: crate::domain::ids::LocationId,
    pub name: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

// A report as the API answers it (`GET /api/v1/programs/{id}/reports`; its schema has no
// description, hence no doc comment). The fields keep their declared order, the order the
// answer has always had.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub program_id: ProgramId,
    #[schema(inline)]
    pub period: Period,
    #[serde(serialize_with = "ymd")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[serde(serialize_with = "ymd")]
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    pub totals: Metrics,
    #[schema(inline)]
    pub periods: Vec<PeriodRow>,
    #[schema(inline)]
    pub rewards: Vec<RewardRow>,
    #[schema(inline)]
    pub locations: Vec<LocationRow>,
}

/// Dates as `YYYY-MM-DD` (time's own serde form is a tuple).
fn ymd<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

fn micros(d: Date) -> i64 {
    to_micros(OffsetDateTime::new_utc(d, Time::MIDNIGHT))
}

/// Builds the report: per period, over the whole range, per reward and per location.
pub async fn report(
    store: &Store,
    q: &ReportQuery,
    locations: &[Location],
) -> Result<Report, StoreError> {
    let dates = periods::boundaries(q.period, q.from, q.to)
        .map_err(|e| anyhow::anyhow!("report range: {e}"))?;
    let bounds: Vec<i64> = dates.iter().map(|d| micros(*d)).collect();
    let per_period = store.report_counts(&q.program, &bounds, &q.filter).await?;
    let whole = [bounds[0], bounds[bounds.len() - 1]];
    let totals = store.report_counts(&q.program, &whole, &q.filter).await?;
    let rewards = store
        .reward_redemptions(&q.program, whole[0], whole[1], &q.filter)
        .await?;
    let mut by_location = Vec::new();
    for l in locations
        .iter()
        .filter(|l| q.filter.location.as_ref().is_none_or(|only| *only == l.id))
    {
        let filter = ScanFilter {
            location: Some(l.id.clone()),
            staff: q.filter.staff.clone(),
        };
        let counts = store.report_counts(&q.program, &whole, &filter).await?;
        by_location.push(LocationRow {
            location_id: l.id.clone(),
            name: l.name.clone(),
            metrics: Metrics::from(&counts[0]),
        });
    }
    Ok(Report {
        program_id: q.program.clone(),
        period: q.period,
        from: dates[0],
        to: dates[dates.len() - 1] - time::Duration::days(1),
        totals: Metrics::from(&totals[0]),
        periods: per_period
            .iter()
            .zip(dates.windows(2))
            .map(|(c, w)| PeriodRow {
                start: w[0],
                end: w[1],
                metrics: Metrics::from(c),
            })
            .collect(),
        rewards: rewards
            .into_iter()
            .map(|(reward_id, name, redemptions)| RewardRow {
                reward_id,
                name,
                redemptions,
            })
            .collect(),
        locations: by_location,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_undefined_without_a_base() {
        let c = Counts {
            points_earned: 200,
            points_redeemed: 50,
            purchases: 3,
            purchasing_members: 2,
            purchase_minor: 1000,
            members_start: 4,
            members_end: 5,
            enrolled: 2,
            ..Counts::default()
        };
        let m = Metrics::from(&c);
        assert_eq!(m.points_redemption_rate, Some(0.25));
        assert_eq!(m.purchase_frequency, Some(1.5));
        assert_eq!(m.average_purchase_value, Some(3.33));
        assert_eq!(m.retention, Some(0.75));
        assert_eq!(m.repeat_visit_rate, None);
        assert_eq!(m.member_redemption_rate, Some(0.0));
    }
}
