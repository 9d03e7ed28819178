//! Integration tests: the real application over HTTP, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod bad_input;
mod certs;
mod members;
mod openapi;
mod passes;
mod points;
mod programs;
