//! What the HTTP areas limit, from settings: body sizes, and request rates per client for
//! the PassKit web service and the landing pages' enrollment form. Built once at start-up
//! and handed to each area's `configure`, which attaches its part to the scope that needs it
//! (the buckets are shared by every HTTP worker).
//!
//! Rates are token buckets per key (device library id, serial or client address), kept in
//! memory. Each instance limits on its own; that bounds what one device or client can cost,
//! which is all this is for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web;

use crate::settings::Settings;

/// Every limit of the HTTP areas.
#[derive(Clone)]
pub struct HttpLimits {
    /// JSON request bodies of the REST API.
    pub max_json_bytes: usize,
    /// Image uploads.
    pub images: web::Data<ImageLimits>,
    pub passkit: web::Data<PassKitLimits>,
    pub landing: web::Data<LandingLimits>,
}

impl HttpLimits {
    pub fn from_settings(settings: &Settings) -> HttpLimits {
        HttpLimits {
            max_json_bytes: settings.server.max_json_bytes,
            images: web::Data::new(ImageLimits {
                max_bytes: settings.server.max_image_bytes,
            }),
            passkit: web::Data::new(PassKitLimits {
                devices: RateLimiter::new(
                    settings.passkit.device_burst,
                    settings.passkit.device_per_minute,
                ),
                max_log_entries: settings.passkit.max_log_entries,
            }),
            landing: web::Data::new(LandingLimits {
                enrollments: RateLimiter::new(
                    settings.landing.enroll_burst,
                    settings.landing.enroll_per_minute,
                ),
                trust_forwarded_for: settings.landing.trust_forwarded_for,
            }),
        }
    }
}

/// Limits of image uploads.
pub struct ImageLimits {
    pub max_bytes: usize,
}

/// Limits of the PassKit web service.
pub struct PassKitLimits {
    pub devices: RateLimiter,
    pub max_log_entries: usize,
}

/// Limits of the landing pages.
pub struct LandingLimits {
    /// Enrollment forms per client address.
    pub enrollments: RateLimiter,
    /// Whether the client address comes from the proxy's `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before idle ones are swept.
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    pub fn new(burst: u32, per_minute: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket; `Err(wait)` when it is empty.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= SWEEP_AT {
            let full_after = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, b| now.duration_since(b.at) < full_after);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate_per_key() {
        let limiter = RateLimiter::new(3, 60);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", t).is_ok());
        }
        let wait = limiter.check_at("a", t).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        assert!(limiter.check_at("b", t).is_ok(), "keys are independent");
        assert!(limiter.check_at("a", t + Duration::from_secs(1)).is_ok());
        assert!(limiter.check_at("a", t + Duration::from_secs(1)).is_err());
    }
}
