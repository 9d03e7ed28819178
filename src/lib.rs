//! passwright: loyalty cards for Apple Wallet and Google Wallet.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod cards;
pub mod cli;
pub mod clock;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod keys;
pub mod messaging;
pub mod outbox;
pub mod qr;
pub mod redemption;
pub mod reports;
pub mod settings;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod templates;
pub mod wallet;

/// The allocator of every passwright binary, its tests and benches. Tasks move between the
/// runtime's threads, so much of what one thread allocates another frees: glibc's malloc
/// then takes the first thread's arena lock, and during an APNs fan-out its threads slept
/// thousands of times a second waiting for it (docs/BENCHMARKS.md, issue 3). mimalloc frees
/// into the owning thread's heap without a lock. It is built without transparent huge pages
/// (`no_thp` in Cargo.toml): with them its eagerly committed arena held the idle service at
/// 52–63 MB, over the 50 MB limit; without them, 33 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
