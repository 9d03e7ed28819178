//! Google Wallet formats: the loyalty class and object built from a program and a member,
//! "Save to Google Wallet" links, and verification of Google's save/delete callbacks.

pub mod callback;
pub mod class;
#[cfg(test)]
mod golden_tests;
pub mod ids;
pub mod object;
pub mod resources;
pub mod save_link;
