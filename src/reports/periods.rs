//! Reporting periods: days, ISO weeks (Monday first) or calendar months, in UTC, covering a
//! date range. A period is [start, next start).

use serde::Serialize;
use time::{Date, Duration, Month};

use crate::domain::Invalid;

/// The most periods one report may have.
pub const MAX_PERIODS: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            _ => Err(Invalid::new("period", "must be day, week or month")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The start of the period `d` falls in.
    pub fn start_of(self, d: Date) -> Date {
        match self {
            Period::Day => d,
            Period::Week => d - Duration::days(i64::from(d.weekday().number_days_from_monday())),
            Period::Month => d.replace_day(1).unwrap_or(d),
        }
    }

    pub fn next(self, d: Date) -> Date {
        match self {
            Period::Day => d + Duration::days(1),
            Period::Week => d + Duration::days(7),
            Period::Month => {
                let (y, m) = match d.month() {
                    Month::December => (d.year() + 1, Month::January),
                    m => (d.year(), m.next()),
                };
                Date::from_calendar_date(y, m, 1).unwrap_or(d)
            }
        }
    }
}

/// Period starts from the one holding `from` to the one holding `to`, plus the end of the
/// last: `n + 1` dates for `n` periods.
pub fn boundaries(period: Period, from: Date, to: Date) -> Result<Vec<Date>, Invalid> {
    if to < from {
        return Err(Invalid::new("to", "must not be before from"));
    }
    let mut out = vec![period.start_of(from)];
    while out.last().is_some_and(|d| *d <= to) {
        if out.len() > MAX_PERIODS {
            return Err(Invalid::new(
                "period",
                format!("the range holds more than {MAX_PERIODS} periods; pick a longer period"),
            ));
        }
        let last = out[out.len() - 1];
        out.push(period.next(last));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn periods_cover_the_range() {
        let b = boundaries(Period::Day, date!(2026 - 01 - 30), date!(2026 - 02 - 01)).unwrap();
        assert_eq!(
            b,
            [
                date!(2026 - 01 - 30),
                date!(2026 - 01 - 31),
                date!(2026 - 02 - 01),
                date!(2026 - 02 - 02)
            ]
        );
        // 2026-11-25 is a Wednesday: its week starts on Monday the 23rd.
        let w = boundaries(Period::Week, date!(2026 - 11 - 25), date!(2026 - 11 - 30)).unwrap();
        assert_eq!(
            w,
            [
                date!(2026 - 11 - 23),
                date!(2026 - 11 - 30),
                date!(2026 - 12 - 07)
            ]
        );
        let m = boundaries(Period::Month, date!(2026 - 11 - 15), date!(2027 - 01 - 02)).unwrap();
        assert_eq!(
            m,
            [
                date!(2026 - 11 - 01),
                date!(2026 - 12 - 01),
                date!(2027 - 01 - 01),
                date!(2027 - 02 - 01)
            ]
        );
        assert!(boundaries(Period::Day, date!(2026 - 01 - 02), date!(2026 - 01 - 01)).is_err());
        assert!(boundaries(Period::Day, date!(2020 - 01 - 01), date!(2026 - 01 - 01)).is_err());
        assert!(boundaries(Period::Month, date!(2020 - 01 - 01), date!(2026 - 01 - 01)).is_ok());
    }
}
