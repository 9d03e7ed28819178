//! Google Wallet REST API: service-account OAuth and the walletobjects calls.
//!
//! [`ServiceAccount`] reads the key file once; [`GoogleClient`] writes loyalty classes and
//! objects and adds messages, each call ending in a [`GoogleOutcome`] the caller (the outbox)
//! acts on.

mod client;
mod config;
mod error;
mod oauth;
mod outcome;
mod service_account;
mod stats;

pub use client::GoogleClient;
pub use config::{GoogleApiConfig, DEFAULT_API_BASE_URL};
pub use error::GoogleError;
pub use oauth::{JWT_BEARER_GRANT, WALLET_SCOPE};
pub use outcome::GoogleOutcome;
pub use service_account::{ServiceAccount, ServiceAccountError, SERVICE_ACCOUNT_TYPE};
pub use stats::GoogleStats;
