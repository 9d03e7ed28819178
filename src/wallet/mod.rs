//! Wallet formats: what Apple and Google expect, independent of how we store members.

pub mod apple;
pub mod artwork;
#[cfg(test)]
pub(crate) mod golden;
pub mod google;
