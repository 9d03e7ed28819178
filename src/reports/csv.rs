//! A report as CSV: one row per period, the figures as columns, rates as decimals and
//! undefined rates as empty cells.

use super::{Metrics, Report};

const COLUMNS: [&str; 21] = [
    "members_enrolled",
    "cards_installed",
    "apple_registrations",
    "google_saves",
    "cards_removed",
    "active_members",
    "scans_accepted",
    "scans_rejected",
    "redemptions",
    "purchases",
    "points_earned",
    "points_redeemed",
    "points_expired",
    "members_at_start",
    "members_at_end",
    "points_redemption_rate",
    "member_redemption_rate",
    "repeat_visit_rate",
    "purchase_frequency",
    "average_purchase_value",
    "retention",
];

fn cells(m: &Metrics) -> Vec<String> {
    let rate = |r: Option<f64>| r.map(|v| v.to_string()).unwrap_or_default();
    let mut out: Vec<String> = [
        m.members_enrolled,
        m.cards_installed,
        m.apple_registrations,
        m.google_saves,
        m.cards_removed,
        m.active_members,
        m.scans_accepted,
        m.scans_rejected,
        m.redemptions,
        m.purchases,
        m.points_earned,
        m.points_redeemed,
        m.points_expired,
        m.members_at_start,
        m.members_at_end,
    ]
    .iter()
    .map(i64::to_string)
    .collect();
    out.extend([
        rate(m.points_redemption_rate),
        rate(m.member_redemption_rate),
        rate(m.repeat_visit_rate),
        rate(m.purchase_frequency),
        m.average_purchase_value
            .map(|v| format!("{v:.2}"))
            .unwrap_or_default(),
        rate(m.retention),
    ]);
    out
}

/// `period_start,period_end,<figures>` rows, then a `total,,<figures>` row over the range.
pub fn to_csv(report: &Report) -> String {
    let mut out = format!("period_start,period_end,{}\r\n", COLUMNS.join(","));
    for p in &report.periods {
        out.push_str(&format!(
            "{},{},{}\r\n",
            p.start,
            p.end,
            cells(&p.metrics).join(",")
        ));
    }
    out.push_str(&format!("total,,{}\r\n", cells(&report.totals).join(",")));
    out
}
