//! Reaching the world outside the request path: pushes to Apple's notification service,
//! Google's Wallet API, webhook endpoints, email relays and SMS providers.

pub mod apns;
pub mod email;
pub mod folder;
pub mod google;
pub mod outcome;
pub mod sms;
pub mod smtp;
pub mod webhook;
