//! Wallet formats: what Apple and Google expect, independent of how we store members.

pub mod apple;
pub mod google;
