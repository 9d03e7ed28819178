//! Redemption at the counter: the scan desk that turns a read barcode into a recorded scan
//! and, when staff ask for it, a visit, a purchase or a redeemed reward.

pub mod desk;

pub use desk::{Accepted, Action, Desk, ScanError, ScanReply, ScanRequest};
