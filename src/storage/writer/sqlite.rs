//! SQLite's writer connection, the line that turns take in order, and the transaction they
//! share on it.
//!
//! On that connection, a turn's transaction is a savepoint inside a transaction that several
//! turns share (group commit). A turn that has done its work while others are queued leaves
//! the transaction open for them, and one COMMIT ends the whole group: the statements to open
//! and end a transaction, and the pages every turn touches (the ends of the ledger, scans and
//! outbox tables and their indexes), are paid once per group instead of once per turn.
//! - Nobody hears back before the COMMIT: [`Writer::finish`] waits for it, so an answer
//!   never reports a write that could still be lost, and what a caller reads afterwards
//!   through the pool includes it.
//! - A turn that is refused or fails rolls back to its own savepoint; the others' work stays.
//!   Should SQLite have rolled back the whole transaction (some I/O errors do), the group's
//!   turns all get the error.
//! - A turn abandoned half way (its caller's future dropped, or an early `?`) is rolled back
//!   by the line's next holder, and its group committed by a task of its own, so the
//!   transaction never stays open. That includes a turn dropped while the trip that opens
//!   its savepoint was under way, when some, all or none of its statements ran: savepoint
//!   names alternate, so the next holder can tell whether the turn's own savepoint exists
//!   (see `Line::repair`). The busiest callers (scans, points) run to their end even when
//!   the client goes away (`http::to_the_end`).
//!
//! [`Writer::finish`]: crate::storage::writer::Writer::finish

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::{AnyConnection, Executor};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

mod turn;

pub(super) use turn::{Savepoint, Turn};

// What is `pub(super)` below is so for the writer's tests, which look inside the line.

/// How a group's COMMIT went, once it has run.
type Outcome = watch::Sender<Option<Result<(), String>>>;

/// SQLite's writer connection, shared by the store's clones.
#[derive(Clone)]
pub(in crate::storage) struct SharedWriter {
    line: Arc<Mutex<Line>>,
    /// Turns (and committers) queued for the connection.
    pub(super) waiting: Arc<AtomicUsize>,
    counts: Arc<WriteCounts>,
}

/// Turns that wrote in a transaction, and the COMMITs that made them durable: their ratio
/// is the size of the groups (operators see both in `/metrics`).
#[derive(Debug, Default)]
pub struct WriteCounts {
    pub turns: AtomicU64,
    pub commits: AtomicU64,
}

/// The connection, and the transaction open on it.
pub(super) struct Line {
    pub(super) conn: AnyConnection,
    pub(super) open: Option<Group>,
    /// Left by a turn dropped half way, for the next holder to do before anything else.
    repair: Option<Repair>,
}

/// Savepoint names. Consecutive savepoints alternate between the two, so a turn can tell
/// its own from the one before it (see [`Line::repair`]); two names keep the statements the
/// same from turn to turn, so SQLite's prepared statements are reused.
pub(super) const NAMES: [&str; 2] = ["turn_a", "turn_b"];

/// What a turn left undone.
#[derive(Debug, Clone, Copy)]
pub(super) enum Repair {
    /// Roll back to its savepoint, which exists.
    RollBackTo(&'static str),
    /// The trip that opens savepoint `name` was cut off: some, all or none of its statements
    /// ran. `opening`: it was opening the transaction too.
    Cut { name: &'static str, opening: bool },
}

impl Line {
    /// Undoes what a turn left undone. Where that cannot be done exactly, the group is
    /// broken: rolled back as a whole, its turns told.
    pub(super) async fn repair(&mut self, repair: Repair) {
        let exact = match repair {
            Repair::RollBackTo(name) => self.sql(&format!("ROLLBACK TO {name}")).await,
            // Only that turn's statements can be in the transaction, if BEGIN ran; without
            // it, ROLLBACK fails and there is nothing to undo.
            Repair::Cut { opening: true, .. } => {
                let _ = self.sql("ROLLBACK").await;
                true
            }
            Repair::Cut { name, .. } => {
                // Its savepoint ran: back to it, and everything after it is undone. (The
                // transaction holds one savepoint between turns, the one before it, which
                // has the other name.)
                self.sql(&format!("ROLLBACK TO {name}")).await || {
                    // It did not: nothing of the turn's own ran, and the savepoint before may
                    // or may not have been released. Releasing it and opening the turn's
                    // leaves the one savepoint the next turn expects. Unless SQLite rolled
                    // back the whole transaction under it (some I/O errors do): then BEGIN
                    // goes through where inside a transaction it fails.
                    let before = self.open.as_ref().map_or(NAMES[0], |g| g.top);
                    if self.sql("BEGIN").await {
                        let _ = self.sql("ROLLBACK").await;
                        false
                    } else {
                        let _ = self.sql(&format!("RELEASE {before}")).await;
                        self.sql(&format!("SAVEPOINT {name}")).await
                    }
                }
            }
        };
        if let Some(group) = self.open.as_mut() {
            if exact {
                if let Repair::Cut { name, .. } = repair {
                    group.top = name;
                }
            } else {
                group.broken = true;
            }
        }
    }

    async fn sql(&mut self, sql: &str) -> bool {
        self.conn.execute(sql).await.is_ok()
    }
}

/// A transaction shared by turns.
pub(super) struct Group {
    turns: usize,
    /// A task is queued to commit the group once the turns ahead of it have joined.
    committer: bool,
    /// What happened to the transaction is unknown or undone: only ROLLBACK is left.
    pub(super) broken: bool,
    /// The name of the latest savepoint in it.
    pub(super) top: &'static str,
    outcome: Arc<Outcome>,
}

impl SharedWriter {
    pub(in crate::storage) fn new(conn: AnyConnection) -> SharedWriter {
        SharedWriter {
            line: Arc::new(Mutex::new(Line {
                conn,
                open: None,
                repair: None,
            })),
            waiting: Arc::default(),
            counts: Arc::default(),
        }
    }

    pub(in crate::storage) fn counts(&self) -> &WriteCounts {
        &self.counts
    }

    /// Waits for the line, counted as waiting from now until it has it, and does what a turn
    /// dropped half way left undone.
    async fn lock(&self, queued: Queued) -> OwnedMutexGuard<Line> {
        let mut line = self.line.clone().lock_owned().await;
        drop(queued);
        if let Some(repair) = line.repair.take() {
            line.repair(repair).await;
        }
        if line.open.as_ref().is_some_and(|g| g.broken) {
            // Its turns hear how it went.
            let _ = commit(&mut line, &self.counts).await;
        }
        line
    }

    /// At shutdown, once the pool is closed: waits for the turns under way, commits a group
    /// still open, and copies the whole write-ahead log into the database file and empties
    /// it, so the file alone holds every write (a copy of it taken after a clean stop is
    /// complete).
    pub(in crate::storage) async fn close(&self) {
        let mut line = self.lock(Queued::new(&self.waiting)).await;
        // Its turns hear how it went (nothing to do without an open group).
        let _ = commit(&mut line, &self.counts).await;
        // A connection of the pool may still be closing on its own thread, and until it has,
        // SQLite cannot empty the log: the checkpoint answers busy (a row, not an error).
        for _ in 0..100 {
            let answer: Result<(i64, i64, i64), _> =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut line.conn)
                    .await;
            match answer {
                Ok((0, _, _)) => return,
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                Err(error) => {
                    tracing::warn!(%error, "SQLite: the write-ahead log was not emptied at shutdown");
                    return;
                }
            }
        }
        tracing::warn!(
            "SQLite: the write-ahead log was not emptied at shutdown: still busy after 2 s"
        );
    }

    pub(in crate::storage) async fn turn(&self) -> Turn {
        Turn::new(self.lock(Queued::new(&self.waiting)).await, self.clone())
    }

    /// Once the turns queued before `queued` had theirs: commits `group` if it is still open,
    /// or, without one, only does what a dropped turn left undone.
    async fn commit_later(self, group: Option<Arc<Outcome>>, queued: Queued) {
        let mut line = self.lock(queued).await;
        let ours = match (&line.open, &group) {
            (Some(open), Some(group)) => Arc::ptr_eq(&open.outcome, group),
            _ => false,
        };
        if ours {
            // Its turns hear how it went; nobody else is waiting for this.
            let _ = commit(&mut line, &self.counts).await;
        }
    }
}

/// One waiting for the line, counted out however the wait ends (a dropped future included).
struct Queued(Arc<AtomicUsize>);

impl Queued {
    fn new(waiting: &Arc<AtomicUsize>) -> Queued {
        waiting.fetch_add(1, Ordering::SeqCst);
        Queued(waiting.clone())
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends the open group: COMMIT (ROLLBACK when broken or when COMMIT fails), and tells its turns.
async fn commit(line: &mut Line, counts: &WriteCounts) -> Result<(), String> {
    let Some(group) = line.open.take() else {
        return Ok(());
    };
    let outcome = if group.broken {
        Err("the transaction this write shared with others was rolled back".to_string())
    } else {
        line.conn
            .execute("COMMIT")
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    };
    if outcome.is_err() {
        // Best effort: without an open transaction there is nothing to undo.
        let _ = line.conn.execute("ROLLBACK").await;
    } else {
        counts.commits.fetch_add(1, Ordering::Relaxed);
    }
    group.outcome.send_replace(Some(outcome.clone()));
    outcome
}
