//! Outgoing webhook settings.

use serde::Deserialize;

use super::de;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Time for one delivery to be answered, connecting included (at most 10 s of it), in
    /// milliseconds. Capped at half the outbox lease, so a slow delivery is not handed to a
    /// second worker.
    #[serde(deserialize_with = "de::number")]
    pub timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings { timeout_ms: 10_000 }
    }
}

impl WebhookSettings {
    /// The timeout in force: at most half of `lease_ms`. A short lease (set for fast
    /// take-over) shortens deliveries rather than refusing to start.
    pub fn timeout(&self, lease_ms: u64) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms.min(lease_ms / 2).max(1))
    }
}
