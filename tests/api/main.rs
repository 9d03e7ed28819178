//! Integration tests: the real application over HTTP, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/chromium.rs"]
mod chromium;
#[path = "../support/fake_apns.rs"]
mod fake_apns;
#[path = "../support/fake_camera.rs"]
mod fake_camera;
#[path = "../support/fake_google.rs"]
mod fake_google;
#[path = "../support/fake_sms.rs"]
mod fake_sms;
#[path = "../support/fake_smtp.rs"]
mod fake_smtp;
#[path = "../support/google_callbacks.rs"]
mod google_callbacks;
#[path = "../support/google_schema.rs"]
mod google_schema;
mod helpers;
#[path = "../support/webhook_receiver.rs"]
mod webhook_receiver;

mod access;
mod apns;
mod architecture;
mod attribution;
mod bad_input;
mod browser;
mod campaigns;
mod certs;
mod crash;
mod device;
mod expiry;
mod google_api;
mod google_schema_check;
mod google_wallet;
mod landing;
mod landing_browser;
mod members;
mod messages;
mod openapi;
mod outbox;
mod pages;
mod passes;
mod points;
mod programs;
mod pushes;
mod reports;
mod scans;
mod shutdown;
mod unsubscribe;
mod web_service;
mod webhooks;
