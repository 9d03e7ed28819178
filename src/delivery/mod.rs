//! Reaching devices outside the request path: pushes to Apple's notification service (and,
//! later, Google's API, email and SMS).

pub mod apns;
pub mod google;
