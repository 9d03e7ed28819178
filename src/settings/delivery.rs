//! Settings for keeping cards current: the APNs connection, the outbox workers and the
//! PassKit web service's limits.

use std::path::PathBuf;

use serde::Deserialize;

use super::de;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ApnsSettings {
    /// Send pushes at all. With development certificates pushes cannot reach Apple, so they
    /// are only logged unless `url` points at a local stand-in.
    #[serde(deserialize_with = "de::flag")]
    pub enabled: bool,
    /// `production` (api.push.apple.com, right for Wallet passes) or `sandbox`.
    pub environment: String,
    /// Overrides the host chosen by `environment`, e.g. `https://127.0.0.1:8443` for a test
    /// stand-in.
    pub url: String,
    /// Extra trusted CA certificate (PEM) for `url`, on top of the system's.
    pub ca_file: Option<PathBuf>,
    /// Token authentication instead of the Pass Type ID certificate: the `.p8` key file ...
    pub token_key_file: Option<PathBuf>,
    /// ... and its 10-character key id. The team id comes from the signer certificate.
    pub token_key_id: Option<String>,
    /// Most pushes in flight at once, over all connections.
    #[serde(deserialize_with = "de::number")]
    pub max_in_flight: usize,
    /// HTTP/2 connections to APNs each instance spreads its pushes over.
    #[serde(deserialize_with = "de::number")]
    pub connections: usize,
    /// Per-push timeout, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub timeout_ms: u64,
}

impl Default for ApnsSettings {
    fn default() -> Self {
        ApnsSettings {
            enabled: true,
            environment: "production".into(),
            url: String::new(),
            ca_file: None,
            token_key_file: None,
            token_key_id: None,
            max_in_flight: 500,
            connections: 2,
            timeout_ms: 10_000,
        }
    }
}

impl ApnsSettings {
    pub fn base_url(&self) -> String {
        if !self.url.is_empty() {
            return self.url.trim_end_matches('/').to_string();
        }
        match self.environment.as_str() {
            "sandbox" => "https://api.sandbox.push.apple.com".into(),
            _ => "https://api.push.apple.com".into(),
        }
    }

    /// True when pushes go to Apple itself rather than a configured stand-in.
    pub fn is_apple(&self) -> bool {
        self.url.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxSettings {
    /// Worker loops in this instance; 0 runs none (another instance delivers).
    #[serde(deserialize_with = "de::number")]
    pub workers: usize,
    /// Jobs one worker claims at a time.
    #[serde(deserialize_with = "de::number")]
    pub batch: u32,
    /// How often an idle worker looks for due jobs, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub poll_ms: u64,
    /// How long a claimed job stays with its worker before another instance may take it
    /// back, in milliseconds. Must exceed the APNs timeout.
    #[serde(deserialize_with = "de::number")]
    pub lease_ms: u64,
    /// Changes to one card within this window become one push per device, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub coalesce_ms: u64,
    /// First retry delay, doubling per attempt with jitter, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub retry_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub retry_max_ms: u64,
    /// Attempts before a job is recorded as failed.
    #[serde(deserialize_with = "de::number")]
    pub max_attempts: u32,
    /// Registrations per push range of a program-wide fan-out (one `apple_pushes` job each).
    #[serde(deserialize_with = "de::number")]
    pub fan_out_batch: u32,
    /// Campaign members handled per step of a campaign send (one transaction each).
    #[serde(deserialize_with = "de::number")]
    pub campaign_batch: u32,
    /// Finished jobs and device logs are deleted after this many hours; failed jobs stay.
    #[serde(deserialize_with = "de::number")]
    pub retention_hours: u64,
    /// How often each instance runs points expiry (expire what is due, update reminders),
    /// in seconds; 0 turns the scheduled run off (`passwright expire` still runs it).
    #[serde(deserialize_with = "de::number")]
    pub expiry_interval_s: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            workers: 2,
            batch: 500,
            poll_ms: 200,
            lease_ms: 60_000,
            coalesce_ms: 500,
            retry_base_ms: 1_000,
            retry_max_ms: 3_600_000,
            // With the 1 s base this keeps retrying through about four hours of outage.
            max_attempts: 15,
            fan_out_batch: 1_000,
            campaign_batch: 500,
            retention_hours: 72,
            expiry_interval_s: 900,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PassKitSettings {
    /// Requests one device may make in a burst to the PassKit web service ...
    #[serde(deserialize_with = "de::number")]
    pub device_burst: u32,
    /// ... and per minute after that.
    #[serde(deserialize_with = "de::number")]
    pub device_per_minute: u32,
    /// Log lines accepted per device log request; the rest are dropped and counted.
    #[serde(deserialize_with = "de::number")]
    pub max_log_entries: usize,
}

impl Default for PassKitSettings {
    fn default() -> Self {
        PassKitSettings {
            device_burst: 60,
            device_per_minute: 120,
            max_log_entries: 50,
        }
    }
}
