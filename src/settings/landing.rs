//! The public landing pages (`/c/{code}`): how often one client may send the enrollment form.

use serde::Deserialize;

use super::de;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LandingSettings {
    /// Enrollment forms one client address may send in a burst.
    #[serde(deserialize_with = "de::number")]
    pub enroll_burst: u32,
    /// Enrollment forms one client address may send per minute after the burst.
    #[serde(deserialize_with = "de::number")]
    pub enroll_per_minute: u32,
    /// Take the client address from `X-Forwarded-For`/`Forwarded` (set this only behind a
    /// reverse proxy that overwrites those headers; otherwise anyone can pick their address).
    #[serde(deserialize_with = "de::flag")]
    pub trust_forwarded_for: bool,
}

impl Default for LandingSettings {
    fn default() -> Self {
        LandingSettings {
            enroll_burst: 10,
            enroll_per_minute: 10,
            trust_forwarded_for: false,
        }
    }
}
