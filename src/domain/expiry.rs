//! Points expiry: a program's policy, and the first-in-first-out reckoning of which points
//! are still unspent and when they expire. Spending, negative adjustments and earlier expiry
//! use up the oldest credits first, so what expires is always the oldest points still held.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

use super::Invalid;

/// "Points expire `months` after they were earned; remind `reminder_days` before."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpiryPolicy {
    /// Points expire this many calendar months after they were earned, oldest unspent points
    /// first.
    #[schema(minimum = 1, maximum = 120)]
    pub months: u32,
    /// Show the points about to expire on the card (with a lock-screen message and a Google
    /// message) and enqueue an email / SMS where the member agreed, this many days before.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 90, default = 0)]
    pub reminder_days: u32,
}

impl ExpiryPolicy {
    pub fn validated(self) -> Result<Self, Invalid> {
        if !(1..=120).contains(&self.months) {
            return Err(Invalid::new("months", "must be between 1 and 120"));
        }
        if self.reminder_days > 90 {
            return Err(Invalid::new("reminder_days", "must be at most 90"));
        }
        Ok(self)
    }

    /// When points credited at `t` expire.
    pub fn expires_at(&self, t: OffsetDateTime) -> OffsetDateTime {
        t.replace_date(add_months(t.date(), self.months))
    }
}

/// `d` plus `months` calendar months; the day is clamped to the target month's length
/// (31 January + 1 month = 28 or 29 February).
pub fn add_months(d: Date, months: u32) -> Date {
    let index = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months as i32;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::January);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

/// Points a member is about to lose, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiring {
    pub points: i64,
    pub at: OffsetDateTime,
}

/// One ledger entry, as the reckoning needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub amount: i64,
    pub at: OffsetDateTime,
}

/// What the reckoning found for one member at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reckoning {
    /// Points whose time is up now.
    pub due: i64,
    /// Points expiring within the reminder window after `now` (not counting `due`), and
    /// the earliest moment one of them expires.
    pub soon: Option<(i64, OffsetDateTime)>,
    /// Every debit so far (spent, removed, expired): with the entries, it names the state the
    /// reckoning was made in, so two workers reckoning the same state agree.
    pub debits: i64,
}

/// Reckons `movements` (in ledger order) under `policy` at `now`.
pub fn reckon(policy: &ExpiryPolicy, movements: &[Movement], now: OffsetDateTime) -> Reckoning {
    let debits: i64 = movements
        .iter()
        .filter(|m| m.amount < 0)
        .map(|m| -m.amount)
        .sum();
    let mut to_consume = debits;
    let horizon = now + Duration::days(i64::from(policy.reminder_days));
    let mut due = 0;
    let mut soon: Option<(i64, OffsetDateTime)> = None;
    for credit in movements.iter().filter(|m| m.amount > 0) {
        let left = credit.amount - to_consume.min(credit.amount);
        to_consume -= credit.amount - left;
        if left == 0 {
            continue;
        }
        let expires = policy.expires_at(credit.at);
        if expires <= now {
            due += left;
        } else if policy.reminder_days > 0 && expires <= horizon {
            soon = Some(match soon {
                Some((points, first)) => (points + left, first.min(expires)),
                None => (left, expires),
            });
        }
    }
    Reckoning { due, soon, debits }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn m(amount: i64, at: OffsetDateTime) -> Movement {
        Movement { amount, at }
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        assert_eq!(add_months(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
        assert_eq!(add_months(date!(2028 - 01 - 31), 1), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 11 - 15), 3), date!(2027 - 02 - 15));
        assert_eq!(add_months(date!(2026 - 12 - 01), 12), date!(2027 - 12 - 01));
    }

    #[test]
    fn the_oldest_unspent_points_expire_first() {
        let policy = ExpiryPolicy {
            months: 12,
            reminder_days: 30,
        };
        let jan = datetime!(2025-01-10 12:00 UTC);
        let feb = datetime!(2025-02-10 12:00 UTC);
        let jun = datetime!(2025-06-10 12:00 UTC);
        // 100 in January, 50 in February, 80 spent in March, 40 in June.
        let moves = [
            m(100, jan),
            m(50, feb),
            m(-80, datetime!(2025-03-01 12:00 UTC)),
            m(40, jun),
        ];
        // Before anything is due: nothing.
        let r = reckon(&policy, &moves, datetime!(2025-12-01 00:00 UTC));
        assert_eq!((r.due, r.soon, r.debits), (0, None, 80));
        // 20 days before January's points expire: the 20 left of them are coming.
        let r = reckon(&policy, &moves, datetime!(2025-12-21 12:00 UTC));
        assert_eq!(r.due, 0);
        assert_eq!(r.soon, Some((20, datetime!(2026-01-10 12:00 UTC))));
        // After January's expire, before February's: 20 due, February's 50 within 30 days.
        let r = reckon(&policy, &moves, datetime!(2026-01-15 00:00 UTC));
        assert_eq!(r.due, 20);
        assert_eq!(r.soon, Some((50, datetime!(2026-02-10 12:00 UTC))));
        // Once the 20 have expired (a debit), reckoning again finds nothing more due.
        let after = [&moves[..], &[m(-20, datetime!(2026-01-15 00:00 UTC))]].concat();
        let r = reckon(&policy, &after, datetime!(2026-01-15 00:00 UTC));
        assert_eq!((r.due, r.debits), (0, 100));
        // Much later everything left is due: 50 + 40.
        let r = reckon(&policy, &after, datetime!(2026-07-01 00:00 UTC));
        assert_eq!(r.due, 90);
    }

    #[test]
    fn policies_are_checked() {
        assert!(ExpiryPolicy {
            months: 0,
            reminder_days: 0
        }
        .validated()
        .is_err());
        assert!(ExpiryPolicy {
            months: 12,
            reminder_days: 91
        }
        .validated()
        .is_err());
        let p: ExpiryPolicy = serde_json::from_str(r#"{"months":6}"#).unwrap();
        assert_eq!(p.reminder_days, 0);
    }
}
