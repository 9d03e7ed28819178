//! Counters the APNs client keeps for `/metrics`: pushes by outcome, connections, 403s and
//! requests in flight.

use std::sync::atomic::{AtomicU64, Ordering};

use super::outcome::PushOutcome;

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApnsStats {
    pub delivered: u64,
    pub unregistered: u64,
    pub bad_device_token: u64,
    pub rejected: u64,
    pub forbidden: u64,
    pub retry: u64,
    /// 403 answers received, including ones a new provider token then cured.
    pub forbidden_responses: u64,
    /// HTTP/2 connections opened.
    pub connections: u64,
    pub connect_failures: u64,
    pub in_flight: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    delivered: AtomicU64,
    unregistered: AtomicU64,
    bad_device_token: AtomicU64,
    rejected: AtomicU64,
    forbidden: AtomicU64,
    retry: AtomicU64,
    pub forbidden_responses: AtomicU64,
    pub connections: AtomicU64,
    pub connect_failures: AtomicU64,
    in_flight: AtomicU64,
}

impl Counters {
    pub fn record(&self, outcome: &PushOutcome) {
        let counter = match outcome {
            PushOutcome::Delivered { .. } => &self.delivered,
            PushOutcome::Unregistered { .. } => &self.unregistered,
            PushOutcome::BadDeviceToken => &self.bad_device_token,
            PushOutcome::Rejected { .. } => &self.rejected,
            PushOutcome::Forbidden { .. } => &self.forbidden,
            PushOutcome::Retry { .. } => &self.retry,
        };
        bump(counter);
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        bump(&self.in_flight);
        InFlight(&self.in_flight)
    }

    pub fn snapshot(&self) -> ApnsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ApnsStats {
            delivered: get(&self.delivered),
            unregistered: get(&self.unregistered),
            bad_device_token: get(&self.bad_device_token),
            rejected: get(&self.rejected),
            forbidden: get(&self.forbidden),
            retry: get(&self.retry),
            forbidden_responses: get(&self.forbidden_responses),
            connections: get(&self.connections),
            connect_failures: get(&self.connect_failures),
            in_flight: get(&self.in_flight),
        }
    }
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(super) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_in_flight_are_counted() {
        let c = Counters::default();
        c.record(&PushOutcome::BadDeviceToken);
        c.record(&PushOutcome::retry("x", None));
        c.record(&PushOutcome::retry("y", None));
        let guard = c.in_flight();
        assert_eq!(c.snapshot().in_flight, 1);
        drop(guard);
        let s = c.snapshot();
        assert_eq!((s.bad_device_token, s.retry, s.in_flight), (1, 2, 0));
    }
}
