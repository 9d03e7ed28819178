//! Integration tests: the real application over HTTP, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/fake_apns.rs"]
mod fake_apns;
mod helpers;

mod access;
mod apns;
mod bad_input;
mod certs;
mod crash;
mod device;
mod members;
mod openapi;
mod outbox;
mod passes;
mod points;
mod programs;
mod pushes;
mod web_service;
