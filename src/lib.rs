//! passwright: loyalty cards for Apple Wallet and Google Wallet.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cards;
pub mod certificates;
pub mod cli;
pub mod clock;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod http;
pub mod keys;
pub mod messaging;
pub mod outbox;
pub mod qr;
pub mod redemption;
pub mod reports;
pub mod settings;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod templates;
pub mod wallet;
