//! How long to wait before the next connection attempt after failed ones: 100 ms doubling to
//! 30 s, so an unreachable APNs is not hammered and pushes meanwhile give up at once.

use std::time::Duration;

use tokio::time::Instant;

const FIRST: Duration = Duration::from_millis(100);
const LONGEST: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub(super) struct Backoff {
    failures: u32,
    until: Option<Instant>,
}

impl Backoff {
    /// Time left before another attempt is allowed, if any.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Records a failed attempt and returns the wait before the next one.
    pub fn fail(&mut self, now: Instant) -> Duration {
        let wait = delay(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.until = Some(now + wait);
        wait
    }

    /// A connection proved itself (it answered a request).
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

fn delay(failures: u32) -> Duration {
    FIRST
        .checked_mul(2u32.saturating_pow(failures))
        .map_or(LONGEST, |d| d.min(LONGEST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let now = Instant::now();
        let mut b = Backoff::default();
        assert_eq!(b.remaining(now), None);
        let waits: Vec<_> = (0..12).map(|_| b.fail(now)).collect();
        assert_eq!(waits[0], Duration::from_millis(100));
        assert_eq!(waits[1], Duration::from_millis(200));
        assert_eq!(waits[4], Duration::from_millis(1600));
        assert_eq!(waits[11], LONGEST);
        assert_eq!(b.remaining(now), Some(LONGEST));
        assert_eq!(b.remaining(now + LONGEST), None);
        b.reset();
        assert_eq!(b.remaining(now), None);
        assert_eq!(b.fail(now), FIRST);
    }
}
