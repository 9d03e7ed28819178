//! The raw counts reports are made of, per period, in a handful of grouped queries. Periods
//! are given as boundaries (microseconds); rows fall into the period whose start they are at
//! or after. The figures derived from these counts live in `crate::reports`.

use sqlx::FromRow;

use crate::domain::ids::{ApiKeyId, LocationId, ProgramId, RewardId};
use crate::storage::{Store, StoreError};

/// Which scans count: all, or those at one location and/or by one staff key.
#[derive(Debug, Clone, Default)]
pub struct ScanFilter {
    pub location: Option<LocationId>,
    pub staff: Option<ApiKeyId>,
}

impl ScanFilter {
    pub fn is_empty(&self) -> bool {
        self.location.is_none() && self.staff.is_none()
    }
}

/// Counts for one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub enrolled: i64,
    pub apple_installs: i64,
    pub google_installs: i64,
    pub cards_removed: i64,
    pub active_members: i64,
    pub scans_accepted: i64,
    pub scans_rejected: i64,
    pub redemptions: i64,
    pub redeeming_members: i64,
    pub purchases: i64,
    pub purchasing_members: i64,
    pub purchase_minor: i64,
    pub visiting_members: i64,
    pub repeat_visitors: i64,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub points_expired: i64,
    /// Members (enrolled, not voided) at the period's start and end.
    pub members_start: i64,
    pub members_end: i64,
}

#[derive(FromRow)]
struct Bucketed {
    b: i64,
    n: i64,
}

#[derive(FromRow)]
struct ScanGroup {
    b: i64,
    action: String,
    result: String,
    n: i64,
    members: i64,
    amount: i64,
}

#[derive(FromRow)]
struct CardGroup {
    b: i64,
    wallet: String,
    event: String,
    n: i64,
}

#[derive(FromRow)]
struct PointsGroup {
    b: i64,
    kind: String,
    total: i64,
}

#[derive(FromRow)]
struct VisitGroup {
    b: i64,
    visitors: i64,
    repeat: i64,
}

/// `CASE` mapping `column` to its period index. The boundaries are our own integers, so
/// writing them into the SQL is safe; the rest is bound.
fn bucket(column: &str, bounds: &[i64]) -> String {
    if bounds.len() <= 2 {
        return "0".into();
    }
    let mut sql = String::from("CASE");
    for (i, b) in bounds
        .iter()
        .enumerate()
        .skip(1)
        .take(bounds.len().saturating_sub(2))
    {
        sql.push_str(&format!(" WHEN {column} < {b} THEN {}", i - 1));
    }
    sql.push_str(&format!(" ELSE {} END", bounds.len().saturating_sub(2)));
    sql
}

impl Store {
    /// Counts per period between consecutive `bounds` (at least two, increasing).
    pub async fn report_counts(
        &self,
        program: &ProgramId,
        bounds: &[i64],
        filter: &ScanFilter,
    ) -> Result<Vec<Counts>, StoreError> {
        if bounds.len() < 2 {
            return Ok(Vec::new());
        }
        let periods = bounds.len() - 1;
        let mut out = vec![Counts::default(); periods];
        let (start, end) = (bounds[0], bounds[periods]);
        let p = program.as_str();
        let location = filter.location.as_ref().map(|l| l.as_str().to_string());
        let staff = filter.staff.as_ref().map(|s| s.as_str().to_string());
        let scans_where = "s.program_id = $1 AND s.created_at >= $2 AND s.created_at < $3 \
             AND ($4 IS NULL OR s.location_id = $4) AND ($5 IS NULL OR s.staff_key_id = $5)";

        let enrolled: Vec<Bucketed> = sqlx::query_as(&format!(
            "SELECT {} AS b, COUNT(*) AS n FROM members WHERE program_id = $1 \
             AND created_at >= $2 AND created_at < $3 GROUP BY 1",
            bucket("created_at", bounds)
        ))
        .bind(p)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        for r in enrolled {
            out[r.b as usize].enrolled = r.n;
        }

        let cards: Vec<CardGroup> = sqlx::query_as(&format!(
            "SELECT {} AS b, wallet, event, COUNT(*) AS n FROM card_events WHERE program_id = $1 \
             AND created_at >= $2 AND created_at < $3 GROUP BY 1, wallet, event",
            bucket("created_at", bounds)
        ))
        .bind(p)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        for r in cards {
            let c = &mut out[r.b as usize];
            match (r.wallet.as_str(), r.event.as_str()) {
                ("apple", "installed") => c.apple_installs += r.n,
                ("google", "installed") => c.google_installs += r.n,
                _ => c.cards_removed += r.n,
            }
        }

        let scans: Vec<ScanGroup> = sqlx::query_as(&format!(
            "SELECT {} AS b, s.action, s.result, COUNT(*) AS n, COUNT(DISTINCT s.member_id) AS members, \
             CAST(COALESCE(SUM(s.amount_minor), 0) AS BIGINT) AS amount FROM scans s \
             WHERE {scans_where} GROUP BY 1, s.action, s.result",
            bucket("s.created_at", bounds)
        ))
        .bind(p)
        .bind(start)
        .bind(end)
        .bind(location.clone())
        .bind(staff.clone())
        .fetch_all(&self.pool)
        .await?;
        for r in scans {
            let c = &mut out[r.b as usize];
            if r.result == "accepted" {
                c.scans_accepted += r.n;
                match r.action.as_str() {
                    "redeem" => {
                        c.redemptions = r.n;
                        c.redeeming_members = r.members;
                    }
                    "purchase" => {
                        c.purchases = r.n;
                        c.purchasing_members = r.members;
                        c.purchase_minor = r.amount;
                    }
                    _ => {}
                }
            } else {
                c.scans_rejected += r.n;
            }
        }

        // Members who came in (a visit or a purchase) and those who came in at least twice.
        let visits: Vec<VisitGroup> = sqlx::query_as(&format!(
            "SELECT b, COUNT(*) AS visitors, CAST(SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END) AS BIGINT) AS repeat \
             FROM (SELECT {} AS b, s.member_id, COUNT(*) AS n FROM scans s WHERE {scans_where} \
             AND s.result = 'accepted' AND s.action IN ('visit', 'purchase') GROUP BY 1, s.member_id) v \
             GROUP BY b",
            bucket("s.created_at", bounds)
        ))
        .bind(p)
        .bind(start)
        .bind(end)
        .bind(location.clone())
        .bind(staff.clone())
        .fetch_all(&self.pool)
        .await?;
        for r in visits {
            out[r.b as usize].visiting_members = r.visitors;
            out[r.b as usize].repeat_visitors = r.repeat;
        }

        // Active: an accepted scan, or (unfiltered) points earned any way.
        let earners = if filter.is_empty() {
            format!(
                " UNION SELECT {} AS b, member_id FROM ledger_entries WHERE program_id = $1 \
                 AND created_at >= $2 AND created_at < $3 AND kind = 'earn'",
                bucket("created_at", bounds)
            )
        } else {
            String::new()
        };
        let active: Vec<Bucketed> = sqlx::query_as(&format!(
            "SELECT b, COUNT(DISTINCT member_id) AS n FROM (SELECT {} AS b, s.member_id FROM scans s \
             WHERE {scans_where} AND s.result = 'accepted'{earners}) a GROUP BY b",
            bucket("s.created_at", bounds)
        ))
        .bind(p)
        .bind(start)
        .bind(end)
        .bind(location.clone())
        .bind(staff.clone())
        .fetch_all(&self.pool)
        .await?;
        for r in active {
            out[r.b as usize].active_members = r.n;
        }

        // Points from the ledger; with a filter, only entries made through a matching scan.
        let points_sql = if filter.is_empty() {
            format!(
                "SELECT {} AS b, kind, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entries \
                 WHERE program_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1, kind",
                bucket("created_at", bounds)
            )
        } else {
            format!(
                "SELECT {} AS b, l.kind, CAST(SUM(l.amount) AS BIGINT) AS total FROM ledger_entries l \
                 JOIN scans s ON s.ledger_entry_id = l.id WHERE {scans_where} AND s.result = 'accepted' \
                 GROUP BY 1, l.kind",
                bucket("l.created_at", bounds)
            )
        };
        let mut query = sqlx::query_as(&points_sql).bind(p).bind(start).bind(end);
        if !filter.is_empty() {
            query = query.bind(location).bind(staff);
        }
        let points: Vec<PointsGroup> = query.fetch_all(&self.pool).await?;
        for r in points {
            let c = &mut out[r.b as usize];
            match r.kind.as_str() {
                "earn" => c.points_earned += r.total,
                "redeem" => c.points_redeemed -= r.total,
                "expire" => c.points_expired -= r.total,
                _ => {}
            }
        }

        // Members at each boundary: enrolled before it and not voided by then.
        let columns: Vec<String> = bounds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    "CAST(COALESCE(SUM(CASE WHEN created_at < {t} AND (voided_at IS NULL OR voided_at >= {t}) \
                     THEN 1 ELSE 0 END), 0) AS BIGINT) AS m{i}"
                )
            })
            .collect();
        let row = sqlx::query(&format!(
            "SELECT {} FROM members WHERE program_id = $1",
            columns.join(", ")
        ))
        .bind(p)
        .fetch_one(&self.pool)
        .await?;
        use sqlx::Row;
        for (i, c) in out.iter_mut().enumerate() {
            c.members_start = row.try_get::<i64, _>(i)?;
            c.members_end = row.try_get::<i64, _>(i + 1)?;
        }
        Ok(out)
    }

    /// Accepted redemptions per reward between `start` and `end`, most redeemed first.
    pub async fn reward_redemptions(
        &self,
        program: &ProgramId,
        start: i64,
        end: i64,
        filter: &ScanFilter,
    ) -> Result<Vec<(RewardId, String, i64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT r.id, r.name, COUNT(*) AS n FROM scans s JOIN rewards r ON r.id = s.reward_id \
             WHERE s.program_id = $1 AND s.created_at >= $2 AND s.created_at < $3 \
             AND ($4 IS NULL OR s.location_id = $4) AND ($5 IS NULL OR s.staff_key_id = $5) \
             AND s.result = 'accepted' AND s.action = 'redeem' GROUP BY r.id, r.name ORDER BY n DESC, r.name",
        )
        .bind(program.as_str())
        .bind(start)
        .bind(end)
        .bind(filter.location.as_ref().map(|l| l.as_str().to_string()))
        .bind(filter.staff.as_ref().map(|s| s.as_str().to_string()))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, n)| (RewardId::from_trusted(id), name, n))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_boundaries() {
        assert_eq!(bucket("t", &[0, 10]), "0");
        assert_eq!(
            bucket("t", &[0, 10, 20, 30]),
            "CASE WHEN t < 10 THEN 0 WHEN t < 20 THEN 1 ELSE 2 END"
        );
    }
}
