//! Time and randomness are inputs of the application, so tests can pin them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Microseconds, the precision timestamps are stored with, so an answer given before a
    /// write shows the same time as a later read.
    fn now(&self) -> OffsetDateTime {
        #[allow(clippy::disallowed_methods)] // the one wall-clock read
        from_micros(to_micros(OffsetDateTime::now_utc()))
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn at(t: OffsetDateTime) -> Self {
        ManualClock {
            micros: Arc::new(AtomicI64::new(to_micros(t))),
        }
    }

    pub fn advance(&self, by: time::Duration) {
        let delta = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
        self.micros.fetch_add(delta, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        from_micros(self.micros.load(Ordering::SeqCst))
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock's time, for what runs outside the application and its injected clock (the
/// CLI, tests, benches). The only wall-clock read of the crate: `clippy.toml` bans the others.
pub fn system_now() -> OffsetDateTime {
    SystemClock.now()
}

/// Microseconds since the Unix epoch: how every timestamp is stored.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn from_seconds(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `t` without its fraction of a second, as HTTP dates show it.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 with a `Z`, as the API shows times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Source of random bytes for secrets and identifiers.
pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        use rand::RngCore;
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

pub type SharedRandom = Arc<dyn Random>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_manual_clock_advances() {
        let t = time::macros::datetime!(2026-11-23 10:00:00.123456 UTC);
        assert_eq!(from_micros(to_micros(t)), t);
        let clock = ManualClock::at(t);
        clock.advance(time::Duration::seconds(90));
        assert_eq!(clock.now(), t + time::Duration::seconds(90));
        assert_eq!(rfc3339(t), "2026-11-23T10:00:00.123456Z");
    }
}
