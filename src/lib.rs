//! passwright: loyalty cards for Apple Wallet and Google Wallet.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod wallet;
pub mod cards;
pub mod clock;
pub mod domain;
pub mod settings;
pub mod storage;
pub mod http;
pub mod keys;
pub mod state;
pub mod certificates;
pub mod cli;
pub mod demo;
pub mod startup;
pub mod telemetry;
