//! Counters the Google Wallet client keeps for `/metrics`: operations by outcome, requests
//! sent, 401s, and access tokens fetched.

use std::sync::atomic::{AtomicU64, Ordering};

use super::outcome::GoogleOutcome;

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoogleStats {
    pub done: u64,
    pub retry: u64,
    pub failed: u64,
    /// Notifying changes Google refused for the 3-per-24-hours limit.
    pub quota_exceeded: u64,
    /// HTTP requests sent to the walletobjects API (an upsert may take up to three).
    pub requests: u64,
    /// 401 answers from the API, each followed by one token refresh.
    pub unauthorized_responses: u64,
    /// Access tokens obtained from the token endpoint.
    pub token_refreshes: u64,
    /// Token requests that failed.
    pub token_failures: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    done: AtomicU64,
    retry: AtomicU64,
    failed: AtomicU64,
    quota_exceeded: AtomicU64,
    pub requests: AtomicU64,
    pub unauthorized_responses: AtomicU64,
    pub token_refreshes: AtomicU64,
    pub token_failures: AtomicU64,
}

impl Counters {
    pub fn record(&self, outcome: &GoogleOutcome) {
        let counter = match outcome {
            GoogleOutcome::Done => &self.done,
            GoogleOutcome::Retry { .. } => &self.retry,
            GoogleOutcome::Failed { .. } => &self.failed,
            GoogleOutcome::QuotaExceeded => &self.quota_exceeded,
        };
        bump(counter);
    }

    pub fn snapshot(&self) -> GoogleStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GoogleStats {
            done: get(&self.done),
            retry: get(&self.retry),
            failed: get(&self.failed),
            quota_exceeded: get(&self.quota_exceeded),
            requests: get(&self.requests),
            unauthorized_responses: get(&self.unauthorized_responses),
            token_refreshes: get(&self.token_refreshes),
            token_failures: get(&self.token_failures),
        }
    }
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted() {
        let c = Counters::default();
        c.record(&GoogleOutcome::Done);
        c.record(&GoogleOutcome::QuotaExceeded);
        c.record(&GoogleOutcome::retry("x", None));
        c.record(&GoogleOutcome::retry("y", None));
        bump(&c.token_refreshes);
        let s = c.snapshot();
        assert_eq!(
            (
                s.done,
                s.retry,
                s.failed,
                s.quota_exceeded,
                s.token_refreshes
            ),
            (1, 2, 0, 1, 1)
        );
    }
}
