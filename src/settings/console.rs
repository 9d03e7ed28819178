//! The console (`/console`): how long a session lasts, how many failed sign-ins the throttle
//! lets through, and how long an invitation or a password-reset link works.

use serde::Deserialize;

use super::de;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConsoleSettings {
    /// A session unused this long ends (minutes).
    #[serde(deserialize_with = "de::number")]
    pub session_idle_minutes: u32,
    /// A session ends this long after sign-in however much it is used (hours).
    #[serde(deserialize_with = "de::number")]
    pub session_max_hours: u32,
    /// Failed sign-ins to one account, from anywhere, before it is throttled.
    #[serde(deserialize_with = "de::number")]
    pub sign_in_failures_per_account: u32,
    /// Failed sign-ins from one client address, to any account, before it is throttled.
    #[serde(deserialize_with = "de::number")]
    pub sign_in_failures_per_address: u32,
    /// The window the failures are counted in (minutes, at most a day); the throttle lifts
    /// as they age out.
    #[serde(deserialize_with = "de::number")]
    pub sign_in_window_minutes: u32,
    /// How long an invitation link works (hours).
    #[serde(deserialize_with = "de::number")]
    pub invite_hours: u32,
    /// How long a password-reset link works (minutes).
    #[serde(deserialize_with = "de::number")]
    pub reset_minutes: u32,
    /// Take the client address the throttle counts from `X-Forwarded-For`/`Forwarded` (only
    /// behind a reverse proxy that overwrites those headers).
    #[serde(deserialize_with = "de::flag")]
    pub trust_forwarded_for: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            session_idle_minutes: 12 * 60,
            session_max_hours: 14 * 24,
            sign_in_failures_per_account: 5,
            sign_in_failures_per_address: 20,
            sign_in_window_minutes: 15,
            invite_hours: 7 * 24,
            reset_minutes: 60,
            trust_forwarded_for: false,
        }
    }
}

impl ConsoleSettings {
    /// Settings that cannot work, in words.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.session_idle_minutes == 0
            || self.session_max_hours == 0
            || self.sign_in_failures_per_account == 0
            || self.sign_in_failures_per_address == 0
            || self.sign_in_window_minutes == 0
            || self.invite_hours == 0
            || self.reset_minutes == 0
        {
            anyhow::bail!("console.* durations and sign-in limits must be at least 1");
        }
        if self.sign_in_window_minutes > 24 * 60 {
            anyhow::bail!("console.sign_in_window_minutes can be at most 1440 (a day)");
        }
        Ok(())
    }
}
