//! Redemption at the counter: the scan desk that turns a read barcode into a recorded scan
//! and, when staff ask for it, a visit, a purchase or a redeemed reward; and points expiry.

pub mod desk;
pub mod expiry;

pub use desk::{Accepted, Action, Desk, ScanError, ScanReply, ScanRequest};
