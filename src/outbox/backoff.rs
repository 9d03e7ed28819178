//! Retry delays: exponential with full jitter between half and all of the step, capped.

use std::time::Duration;

use crate::clock::Random;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Delay before attempt `attempts + 1`, after `attempts` failures (1 = first failure).
    pub fn delay(&self, attempts: u32, random: &dyn Random) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
            .min(self.max);
        let mut byte = [0u8; 1];
        random.fill(&mut byte);
        // Between 50% and 100% of the step: spreads retries of a burst apart.
        let fraction = 0.5 + f64::from(byte[0]) / 510.0;
        step.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl Random for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn doubles_with_jitter_and_stops_at_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert_eq!(b.delay(1, &Fixed(255)), Duration::from_secs(1));
        assert_eq!(b.delay(1, &Fixed(0)), Duration::from_millis(500));
        assert_eq!(b.delay(4, &Fixed(255)), Duration::from_secs(8));
        assert_eq!(b.delay(30, &Fixed(255)), Duration::from_secs(60));
        assert!(b.delay(3, &Fixed(128)) > Duration::from_secs(2));
    }
}
