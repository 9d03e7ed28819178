//! Outgoing webhook settings.

use serde::Deserialize;

use super::de;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Time for one delivery to be answered, connecting included (at most 10 s of it), in
    /// milliseconds. Must be shorter than the outbox lease.
    #[serde(deserialize_with = "de::number")]
    pub timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings { timeout_ms: 10_000 }
    }
}
