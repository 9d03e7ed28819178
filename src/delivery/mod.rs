//! Reaching the world outside the request path: pushes to Apple's notification service,
//! Google's Wallet API, and webhook endpoints (later email and SMS).

pub mod apns;
pub mod google;
pub mod webhook;
