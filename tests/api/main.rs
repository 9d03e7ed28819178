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
mod artwork;
mod attribution;
mod bad_input;
mod browser;
mod browser_console;
mod browser_dashboard;
mod browser_designer;
mod browser_journey;
mod browser_scanner_camera;
mod browser_scanner_plain_http;
mod browser_scanner_typed_codes;
mod campaigns;
mod certs;
mod console;
mod console_card_link;
mod console_designer;
mod console_hostile_text;
mod console_imports;
mod console_member_tier;
mod console_members;
mod console_people;
mod console_rules;
mod console_sample;
mod crash;
mod device;
mod expiry;
mod google_api;
mod google_heals;
mod google_schema_check;
mod google_wallet;
mod https;
mod landing;
mod landing_browser;
mod landing_card_page;
mod landing_dead_links;
mod landing_enroll;
mod landing_links_api;
mod landing_protection;
mod landing_qr;
mod members;
mod messages;
mod messages_consent;
mod messages_email;
mod messages_email_tls;
mod messages_sms;
mod openapi;
mod openapi_answers;
mod openapi_answers_members;
mod openapi_document;
mod openapi_reports;
mod openapi_webhooks_links;
mod outbox;
mod pages;
mod passes;
mod points;
mod programs;
mod pushes;
mod reports;
mod scans;
mod scans_at_the_till;
mod scans_bad_requests;
mod scans_card_checks;
mod scans_storage;
mod shutdown;
mod unsubscribe;
mod web_service;
mod webhooks;
mod webhooks_card_events;
mod webhooks_delivery;
mod webhooks_endpoints;
mod webhooks_failures;
