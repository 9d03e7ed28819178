//! Google Wallet settings: the issuer, the service account, where its API lives (tests point
//! it at a local stand-in), and what verifies Google's save/delete callbacks.

use std::path::PathBuf;

use serde::Deserialize;

use super::de;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct GoogleSettings {
    /// The numeric issuer id from the Google Pay & Wallet Console. Empty: Google Wallet off.
    pub issuer_id: String,
    /// The service account's JSON key file; required with `issuer_id` (save links are
    /// signed with its key).
    pub service_account_file: Option<PathBuf>,
    /// Base URL of the walletobjects API. Empty: no API calls; save links then carry the
    /// whole card (only when the link stays within 1,800 characters) and nothing is updated
    /// later.
    pub api_url: String,
    /// OAuth token endpoint; empty: the key file's `token_uri`.
    pub token_url: String,
    /// Web origins allowed to show the "Save to Google Wallet" button, comma-separated.
    pub origins: String,
    /// Per-request timeout for Google's API, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub timeout_ms: u64,
    /// Google's root signing keys for callbacks (the JSON served at
    /// https://pay.google.com/gp/m/issuer/keys). Without it, callbacks are refused.
    pub callback_keys_file: Option<PathBuf>,
    /// Sender ids accepted on callbacks, comma-separated (both spellings have been seen).
    pub callback_sender_ids: String,
    /// Google allows this many notifying messages per object per 24 hours.
    #[serde(deserialize_with = "de::number")]
    pub notifications_per_day: u32,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        GoogleSettings {
            issuer_id: String::new(),
            service_account_file: None,
            api_url: "https://walletobjects.googleapis.com/walletobjects/v1".into(),
            token_url: String::new(),
            origins: String::new(),
            timeout_ms: 10_000,
            callback_keys_file: None,
            callback_sender_ids: "GooglePayPasses,GoogleWalletPasses".into(),
            notifications_per_day: 3,
        }
    }
}

impl GoogleSettings {
    pub fn enabled(&self) -> bool {
        !self.issuer_id.is_empty()
    }

    pub fn origins(&self) -> Vec<String> {
        list(&self.origins)
    }

    pub fn sender_ids(&self) -> Vec<String> {
        list(&self.callback_sender_ids)
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}
