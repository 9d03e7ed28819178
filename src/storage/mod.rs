//! The one store interface over SQLite and PostgreSQL. All SQL lives below this module.
//!
//! sqlx's `Any` driver runs the same runtime queries on both engines: `$1` placeholders
//! work on both, times are BIGINT microseconds and flags BIGINT 0/1, so every value has
//! one representation. Where the engines really differ (locking, DDL) the code says so.
//!
//! `Store`'s methods are grouped by area, one folder each, whose module doc lists them:
//! `loyalty` (programs, rewards, members, the ledger, expiry, imports), `wallets` (Apple
//! registrations, Google objects, the change clock, fan-out, card events), `distribution`
//! (links, attribution, campaigns, messages, consent), `operations` (the outbox, webhooks, API keys,
//! report figures), and the counter's `scans` (with locations). What they share stays
//! here: the pool, the engine, errors, the group-commit `writer`, `batch`ed statements, `sql`.

mod batch;
mod distribution;
mod loyalty;
#[cfg(test)]
mod migration_tests;
mod operations;
mod scans;
#[cfg(test)]
mod schema_tests;
mod secrets;
mod sql;
#[cfg(test)]
mod story_tests;
#[doc(hidden)]
pub mod test_postgres;
mod wallets;
mod writer;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

use writer::{SharedWriter, Writer};

use crate::clock::{OsRandom, SharedRandom};
use crate::domain::ids::ProgramId;
use crate::domain::program::Program;

pub use distribution::attribution::{ChannelFunnel, Funnel};
pub use distribution::campaigns::{Batch, Progress};
pub use distribution::consent::ConsentEvent;
pub use distribution::link_activity::LinkEventRecord;
pub use distribution::links::{LinkAction, LinkRecord, NewLink};
pub use distribution::messages::{skip_reason, MessageOutcome, MessageRecord, NewMessage};
pub use loyalty::import_files::{problem_rows, ImportFile, ImportStatus};
pub use loyalty::ledger::{LedgerPage, PointsOutcome};
pub use loyalty::member_list::{MemberCursor, MemberPage, MemberQuery, MemberSort, SortKey};
pub use loyalty::member_tier::TierChoice;
pub use loyalty::members::{CardAction, MemberKey};
pub use operations::audit::{AuditEntry, AuditRecord};
pub use operations::outbox::{ClaimedJob, Finish, JobRecord, OutboxStats};
pub use operations::reports::{Counts, ScanFilter};
pub use operations::users::{Failures, NewLink as NewUserLink, NewUser};
pub use operations::webhooks::{DeliveryRecord, WebhookEvent};
pub use scans::{CounterView, NewScan, ScanOutcome};
pub use wallets::apple::{Registration, UpdatedSerials};
pub use wallets::card_events::CardEventRecord;
pub use wallets::fan_out::{FanOut, PushFollowUp, PushTargets, Ranges};
pub use wallets::google::{GoogleObjectRecord, PushedState};
pub use writer::WriteCounts;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(Conflict),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Writes refused because of what is already stored. Each maps to a 409 on purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("another member of this program has that external id")]
    ExternalIdTaken,
    #[error("this idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("the balance is too low for this change")]
    InsufficientPoints { balance: i64 },
    #[error("the member's card is voided")]
    MemberVoided,
    #[error("this program already has a location with that name")]
    LocationNameTaken,
    #[error("a console user already has that email address")]
    EmailTaken,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// Parsed programs by id, each valid only for the design version it was read at; every
    /// member lookup reads the current version in the same query, so a stale entry is never used.
    programs: Arc<Mutex<HashMap<ProgramId, Arc<Program>>>>,
    /// How long a card change waits before its fan-out runs, so a burst coalesces.
    change_delay: time::Duration,
    /// Wakes this instance's outbox workers when a job was added outside a change.
    jobs: Arc<tokio::sync::Notify>,
    /// Card lookups made (members by id or serial): scans of forged codes must not add any.
    member_lookups: Arc<std::sync::atomic::AtomicU64>,
    /// SQLite: the connection this process's write transactions go through, in turns
    /// committed in groups (see `writer/sqlite.rs`).
    writer: Option<SharedWriter>,
    /// Locations never move between programs and are never deleted: their program, once read.
    location_programs: Arc<Mutex<HashMap<String, ProgramId>>>,
    /// For ids made inside transactions (webhook events).
    random: SharedRandom,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.engine)
    }
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). SQLite files are created when
    /// missing and run in WAL mode with foreign keys on and a busy timeout, so concurrent
    /// writers queue instead of failing.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        Store::connect_pool(url, max_connections, 0).await
    }

    /// As [`Store::connect`], with a pool of at most `max_connections` that keeps
    /// `min_connections` open while idle (opened in the background, and again after one is
    /// closed).
    pub async fn connect_pool(
        url: &str,
        max_connections: u32,
        min_connections: u32,
    ) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            anyhow::bail!("database.url must start with sqlite: or postgres:");
        };
        if engine == Engine::Sqlite && (url.contains(":memory:") || url.contains("mode=memory")) {
            // Writes go through a connection of their own (see `writer`): each in-memory
            // connection would be a database of its own.
            anyhow::bail!("database.url names an in-memory SQLite database; name a file");
        }
        let url = match engine {
            Engine::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .context("database.url is not a valid database URL")?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .min_connections(min_connections.min(max_connections))
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection before handing it out by default: one more round trip
            // per query (on SQLite, one more hop to the connection's thread). A broken connection
            // shows up as an error on its next query instead, and is replaced.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| Box::pin(prepare(conn, engine)))
            .connect_with(options.clone())
            .await
            .context("cannot connect to the database")?;
        let writer = match engine {
            Engine::Sqlite => {
                let mut conn = AnyConnection::connect_with(&options)
                    .await
                    .context("cannot connect to the database")?;
                prepare(&mut conn, engine).await?;
                // Checkpoints (copying the log into the database file, with an fsync) run
                // off the write path, in `checkpoints`; the writer does one itself only when
                // the log has grown past 40 MB, should those fall behind.
                conn.execute("PRAGMA wal_autocheckpoint = 10000").await?;
                // Turns are savepoints (see `writer/sqlite.rs`): SQLite keeps the pages a rollback
                // to one would restore in memory, not in a temporary file opened, written and
                // deleted in every transaction.
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                tokio::spawn(checkpoints(pool.clone()));
                Some(SharedWriter::new(conn))
            }
            Engine::Postgres => None,
        };
        Ok(Store {
            pool,
            engine,
            programs: Arc::default(),
            change_delay: time::Duration::ZERO,
            jobs: Arc::default(),
            member_lookups: Arc::default(),
            writer,
            location_programs: Arc::default(),
            random: Arc::new(OsRandom),
        })
    }

    /// How long card changes wait before they are fanned out to wallets: changes within
    /// this window become one push per device.
    pub fn with_change_delay(mut self, delay: time::Duration) -> Store {
        self.change_delay = delay;
        self
    }

    /// Where ids made by the store (webhook events) get their randomness.
    pub fn with_random(mut self, random: SharedRandom) -> Store {
        self.random = random;
        self
    }

    /// Notified when jobs were added that are due now.
    pub fn job_signal(&self) -> Arc<tokio::sync::Notify> {
        self.jobs.clone()
    }

    fn jobs_added(&self) {
        self.jobs.notify_waiters();
    }

    /// After a change that may have enqueued jobs: wakes the workers only for jobs due now,
    /// webhook events for `endpoints` or, without a coalescing window, the card's fan-out.
    /// A card change held back for the window is found by the workers' next poll; waking
    /// them for it on every change would have them look for due jobs as often as changes
    /// arrive, each look a write turn.
    fn change_jobs_added(&self, card_changed: bool, endpoints: &operations::webhooks::Endpoints) {
        if !endpoints.is_empty() || (card_changed && self.change_delay.is_zero()) {
            self.jobs_added();
        }
    }

    /// After a change every card of a program shows (its transaction committed): wakes the
    /// workers when the program's fan-out is due at once, without a coalescing window. A
    /// later one is found by their next poll.
    fn program_change_added(&self) {
        if self.change_delay.is_zero() {
            self.jobs_added();
        }
    }

    /// A turn to write in, ended with [`Writer::finish`]. On SQLite, a turn on the process's
    /// one writer connection, whose transactions are committed in groups (see `writer/sqlite.rs`).
    /// On PostgreSQL, whose row locks let writers run side by side, any pooled connection.
    async fn writer(&self) -> Result<Writer, StoreError> {
        Ok(match &self.writer {
            Some(writer) => Writer::Own(writer.turn().await),
            None => Writer::Pooled(self.pool.acquire().await?),
        })
    }

    /// Runs a batch of reads on a pooled connection, in one trip.
    async fn read(&self, batch: batch::Batch) -> Result<batch::Results, StoreError> {
        let mut conn = self.pool.acquire().await?;
        batch.run(&mut conn, self.engine).await
    }

    /// SQLite: write turns and the COMMITs that ended them, in groups (see `writer/sqlite.rs`).
    pub fn write_counts(&self) -> Option<&WriteCounts> {
        self.writer.as_ref().map(SharedWriter::counts)
    }

    /// How many card lookups this store has made.
    pub fn member_lookups(&self) -> u64 {
        self.member_lookups
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Applies the embedded migrations for this engine, then makes the member search keys
    /// an upgrade calls for (`index_members_for_search`).
    ///
    /// SQLite's run with foreign keys off, on a connection of their own that is closed
    /// after, never returned to the pool: rebuilding a table (SQLite's procedure for changing
    /// a column's constraints, see `migrations/sqlite/0009_not_null_primary_keys.sql`) needs
    /// them off, which takes effect only outside a transaction, and sqlx runs every SQLite
    /// migration inside one (it ignores `-- no-transaction` on SQLite). So a SQLite migration
    /// that deletes referenced rows does not cascade, and one that may break a reference
    /// checks the foreign keys itself before it commits, as 0009 does.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let applied = match self.engine {
            Engine::Sqlite => {
                let mut conn = self.pool.acquire().await?.detach();
                conn.execute("PRAGMA foreign_keys = OFF").await?;
                let applied = SQLITE_MIGRATIONS.run(&mut conn).await;
                // A failed migration rolls back when the connection closes.
                let _ = conn.close().await;
                applied
            }
            Engine::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await,
        };
        applied.context("database migration failed")?;
        let indexed = self
            .index_members_for_search()
            .await
            .context("making the member search keys failed")?;
        if indexed > 0 {
            tracing::info!(
                members = indexed,
                "member search keys made after an upgrade"
            );
        }
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Rows in one of our tables (operators' sanity checks, tests proving nothing was written).
    pub async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        const TABLES: [&str; 24] = [
            "programs",
            "program_images",
            "rewards",
            "members",
            "ledger_entries",
            "api_keys",
            "apple_devices",
            "apple_registrations",
            "device_logs",
            "outbox_jobs",
            "google_objects",
            "google_callbacks",
            "locations",
            "scans",
            "webhook_endpoints",
            "webhook_events",
            "webhook_deliveries",
            "card_events",
            "campaigns",
            "links",
            "messages",
            "link_events",
            "consent_events",
            "campaign_members",
        ];
        let table = TABLES
            .iter()
            .find(|t| **t == table)
            .ok_or_else(|| anyhow::anyhow!("unknown table {table}"))?;
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Closes the pool and, on SQLite, leaves every write in the database file itself (see
    /// `SharedWriter::close`).
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
    }
}

/// SQLite: copies the write-ahead log into the database file every 100 ms, beside the
/// writer rather than in its commits (a passive checkpoint takes no write lock), until the
/// pool is closed. A long log slows every read, which searches it first.
async fn checkpoints(pool: AnyPool) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if !pool.is_closed() {
                tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
            }
        }
    }
}

/// Settings every new connection gets.
async fn prepare(conn: &mut AnyConnection, engine: Engine) -> Result<(), sqlx::Error> {
    match engine {
        Engine::Sqlite => {
            // A 64 MiB page cache: the outbox and registrations outgrow the default 2 MiB
            // quickly, and misses cost a read each. A connection empties its cache whenever
            // another one has written since its last read, which the outbox does all the
            // time; pages of the database file are then read through a memory map (up to
            // 1 GiB of it) instead of copied in with a system call each.
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824;",
            )
            .await?;
        }
        // PostgreSQL keeps its default `plan_cache_mode = auto`: a statement sqlx keeps
        // prepared settles on a generic plan, and keyed lookups (a device's registrations,
        // a pass) are not planned again on every request. Statements over the outbox, whose
        // size swings from empty to a whole fan-out in a moment, are planned for each
        // execution instead (`.persistent(false)`, see `storage::outbox`).
        Engine::Postgres => {}
    }
    Ok(())
}

/// `true`/`false` as stored.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}
