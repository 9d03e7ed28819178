//! The pause after a 403: APNs refused our certificate or token, and asking again at full
//! speed would only pile up refusals (and may get the credential throttled).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::SharedClock;

pub(super) struct Cooldown {
    length: Duration,
    clock: SharedClock,
    /// Until when, and the reason APNs gave.
    until: Mutex<Option<(OffsetDateTime, String)>>,
}

impl Cooldown {
    pub fn new(length: Duration, clock: SharedClock) -> Cooldown {
        Cooldown {
            length,
            clock,
            until: Mutex::new(None),
        }
    }

    /// The reason of the 403 that started a pause still running.
    pub fn active(&self) -> Option<String> {
        let now = self.clock.now();
        let until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        until
            .as_ref()
            .filter(|(end, _)| now < *end)
            .map(|(_, reason)| reason.clone())
    }

    pub fn start(&self, reason: &str) {
        let end = self.clock.now() + self.length;
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = Some((end, reason.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn pause_lasts_its_length() {
        let clock = ManualClock::at(time::macros::datetime!(2026-01-01 0:00 UTC));
        let c = Cooldown::new(Duration::from_secs(60), Arc::new(clock.clone()));
        assert_eq!(c.active(), None);
        c.start("BadCertificate");
        clock.advance(time::Duration::seconds(59));
        assert_eq!(c.active().as_deref(), Some("BadCertificate"));
        clock.advance(time::Duration::seconds(1));
        assert_eq!(c.active(), None);
    }
}
