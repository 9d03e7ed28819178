//! Writing in turns, and on SQLite committing turns in groups.
//!
//! SQLite has one writer at a time. Write transactions take turns for one connection of the
//! process's own (`Store::writer`): queueing in the process is in order, where writers
//! finding the lock taken would sleep in SQLite's busy handler in growing steps (and, while
//! turns follow each other closely, rarely find it free); and one connection keeps its page
//! cache warm, where a connection that sees another's commit drops its whole cache. A few
//! single-statement writes (purges, revocations, endpoint changes) still go through the pool
//! and wait at SQLite's lock.
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
//! On PostgreSQL, whose row locks let writers run side by side, a turn is any pooled
//! connection and its transaction an ordinary one. `BEGIN` goes in the same trip as the
//! transaction's first batch. The transaction is opened and ended by plain statements, not
//! through sqlx's `Transaction` (which waits for `BEGIN` on its own), so [`PgTx`] guards it:
//! a connection left with its transaction open is closed, never returned to the pool, and
//! PostgreSQL rolls the transaction back.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Executor};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use super::batch::{Batch, Results};
use super::{Engine, StoreError};

/// PostgreSQL: opens a transaction for a batch.
const PG_BEGIN: [&str; 1] = ["BEGIN"];

/// Turns in one group at most: bounds how long the first of them waits for the COMMIT.
const MAX_GROUP: usize = 64;

/// How a group's COMMIT went, once it has run.
type Outcome = watch::Sender<Option<Result<(), String>>>;

/// SQLite's writer connection, shared by the store's clones.
#[derive(Clone)]
pub(super) struct SharedWriter {
    line: Arc<Mutex<Line>>,
    /// Turns (and committers) queued for the connection.
    waiting: Arc<AtomicUsize>,
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
struct Line {
    conn: AnyConnection,
    open: Option<Group>,
    /// Left by a turn dropped half way, for the next holder to do before anything else.
    repair: Option<Repair>,
}

/// Savepoint names. Consecutive savepoints alternate between the two, so a turn can tell
/// its own from the one before it (see [`Line::repair`]); two names keep the statements the
/// same from turn to turn, so SQLite's prepared statements are reused.
const NAMES: [&str; 2] = ["turn_a", "turn_b"];

/// What a turn left undone.
#[derive(Debug, Clone, Copy)]
enum Repair {
    /// Roll back to its savepoint, which exists.
    RollBackTo(&'static str),
    /// The trip that opens savepoint `name` was cut off: some, all or none of its statements
    /// ran. `opening`: it was opening the transaction too.
    Cut { name: &'static str, opening: bool },
}

impl Line {
    /// Undoes what a turn left undone. Where that cannot be done exactly, the group is
    /// broken: rolled back as a whole, its turns told.
    async fn repair(&mut self, repair: Repair) {
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
struct Group {
    turns: usize,
    /// A task is queued to commit the group once the turns ahead of it have joined.
    committer: bool,
    /// What happened to the transaction is unknown or undone: only ROLLBACK is left.
    broken: bool,
    /// The name of the latest savepoint in it.
    top: &'static str,
    outcome: Arc<Outcome>,
}

impl SharedWriter {
    pub(super) fn new(conn: AnyConnection) -> SharedWriter {
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

    pub(super) fn counts(&self) -> &WriteCounts {
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
    pub(super) async fn close(&self) {
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

    pub(super) async fn turn(&self) -> Turn {
        Turn {
            line: self.lock(Queued::new(&self.waiting)).await,
            shared: self.clone(),
            group: None,
            savepoint: NAMES[0],
            abandoned: false,
            cut: None,
        }
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

/// A connection held for writing (see [`Store::writer`](super::Store::writer)). End every
/// turn with [`Writer::finish`]: on SQLite that is where its writes become durable.
pub(super) enum Writer {
    Own(Turn),
    Pooled(PoolConnection<sqlx::Any>),
}

/// A turn on SQLite's writer connection, holding it until the turn ends.
pub(super) struct Turn {
    line: OwnedMutexGuard<Line>,
    shared: SharedWriter,
    /// The group this turn wrote in.
    group: Option<Arc<Outcome>>,
    /// This turn's latest savepoint.
    savepoint: &'static str,
    /// That savepoint was left neither kept nor rolled back.
    abandoned: bool,
    /// The trip that opens it was under way when its future was dropped: which of its
    /// statements ran is unknown. Whether it was opening the transaction too.
    cut: Option<bool>,
}

impl Writer {
    /// A transaction for this turn: a savepoint in the group's transaction on SQLite (which
    /// opens one with `BEGIN IMMEDIATE`, taking the write lock at once), a transaction of its
    /// own on PostgreSQL.
    pub async fn begin(&mut self) -> Result<WriteTx<'_>, StoreError> {
        match self {
            Writer::Own(turn) => {
                turn.savepoint(Batch::new()).await?;
                Ok(WriteTx::Savepoint(Savepoint { turn, open: true }))
            }
            Writer::Pooled(c) => {
                let tx = PgTx {
                    conn: c,
                    open: true,
                };
                tx.conn.execute("BEGIN").await?;
                Ok(WriteTx::Pooled(tx))
            }
        }
    }

    /// [`Writer::begin`], with `batch` as the transaction's first statements: on SQLite the
    /// savepoint and the batch go to the database in one trip.
    pub async fn begin_with(&mut self, batch: Batch) -> Result<(WriteTx<'_>, Results), StoreError> {
        match self {
            Writer::Own(turn) => {
                let results = turn.savepoint(batch).await?;
                Ok((WriteTx::Savepoint(Savepoint { turn, open: true }), results))
            }
            Writer::Pooled(c) => {
                let mut tx = PgTx {
                    conn: c,
                    open: true,
                };
                match batch.run_after(&PG_BEGIN, tx.conn, Engine::Postgres).await {
                    Ok(results) => Ok((WriteTx::Pooled(tx), results)),
                    Err(failed) => {
                        // Unless BEGIN is known to have run, whether the transaction is
                        // open is unknown, and the connection is closed on drop.
                        if failed.lead_ran > 0 {
                            tx.end("ROLLBACK").await?;
                        }
                        Err(failed.error)
                    }
                }
            }
        }
    }

    /// Ends the turn. On SQLite, when other turns are queued, the group's transaction is left
    /// open for them and this waits for the COMMIT that ends them all; with nobody queued it
    /// commits now. Either way it returns once this turn's writes are durable, or with the
    /// error that lost them.
    pub async fn finish(self) -> Result<(), StoreError> {
        match self {
            Writer::Own(turn) => turn.finish().await,
            Writer::Pooled(_) => Ok(()),
        }
    }
}

impl Turn {
    /// Counts this turn into the open group, if it is not yet.
    fn join(&mut self) {
        if self.group.is_some() {
            return;
        }
        if let Some(group) = self.line.open.as_mut() {
            group.turns += 1;
            self.group = Some(group.outcome.clone());
            self.shared.counts.turns.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Opens a savepoint (and the group's transaction when none is open), then runs `batch`
    /// in it, all in one trip.
    ///
    /// The savepoint before is released first: its work stays in the transaction, and
    /// SQLite's record of the pages to restore on a rollback starts again from empty instead
    /// of growing with every turn. The new one has the other of the two names, so should the
    /// trip be cut off, whoever holds the line next can tell whether it ran.
    async fn savepoint(&mut self, batch: Batch) -> Result<Results, StoreError> {
        self.join();
        let (lead, name): (&[&str], _) = match self.line.open.as_ref().map(|g| g.top) {
            None => (&["BEGIN IMMEDIATE", "SAVEPOINT turn_a"], NAMES[0]),
            Some("turn_a") => (&["RELEASE turn_a", "SAVEPOINT turn_b"], NAMES[1]),
            Some(_) => (&["RELEASE turn_b", "SAVEPOINT turn_a"], NAMES[0]),
        };
        let opening = self.line.open.is_none();
        self.savepoint = name;
        // Cleared once the trip is back; still set if the caller's future is dropped in it.
        self.cut = Some(opening);
        let ran = batch
            .run_after(lead, &mut self.line.conn, Engine::Sqlite)
            .await;
        self.cut = None;
        match ran {
            Ok(results) => {
                match self.line.open.as_mut() {
                    Some(group) => group.top = name,
                    None => {
                        self.line.open = Some(Group {
                            turns: 0,
                            committer: false,
                            broken: false,
                            top: name,
                            outcome: Arc::new(watch::channel(None).0),
                        });
                        self.join();
                    }
                }
                Ok(results)
            }
            Err(failed) if !opening && failed.lead_ran == lead.len() => {
                // Its savepoint exists: undone when the turn finishes.
                if let Some(group) = self.line.open.as_mut() {
                    group.top = name;
                }
                self.abandoned = true;
                Err(failed.error)
            }
            Err(failed) => {
                self.line.repair(Repair::Cut { name, opening }).await;
                Err(failed.error)
            }
        }
    }

    fn break_group(&mut self) {
        if let Some(group) = self.line.open.as_mut() {
            group.broken = true;
        }
    }

    /// Undoes this turn's latest savepoint. Should it be gone, SQLite rolled back the whole
    /// transaction, and the group is broken.
    async fn roll_back(&mut self) -> Result<(), StoreError> {
        self.abandoned = false;
        let sql = format!("ROLLBACK TO {}", self.savepoint);
        match self.line.conn.execute(sql.as_str()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.break_group();
                Err(e.into())
            }
        }
    }

    /// See [`Writer::finish`].
    async fn finish(mut self) -> Result<(), StoreError> {
        let rolled_back = if let Some(opening) = self.cut.take() {
            let name = self.savepoint;
            self.line.repair(Repair::Cut { name, opening }).await;
            Err(anyhow::anyhow!("a write was cut off on its way to the database").into())
        } else if self.abandoned {
            self.roll_back().await
        } else {
            Ok(())
        };
        let Some(group) = self.group.take() else {
            return rolled_back;
        };
        let queued = self.shared.waiting.load(Ordering::SeqCst);
        let Some(open) = self.line.open.as_mut() else {
            // Only the holder of the line ends a group, and this turn held it throughout.
            return Err(anyhow::anyhow!("a write turn outlived its transaction").into());
        };
        let outcome = if open.broken || queued == 0 || open.turns >= MAX_GROUP {
            commit(&mut self.line, &self.shared.counts).await
        } else {
            if !open.committer {
                open.committer = true;
                // Counted as waiting from now, so turns finishing before it queues leave the
                // COMMIT to it.
                let queued = Queued::new(&self.shared.waiting);
                tokio::spawn(
                    self.shared
                        .clone()
                        .commit_later(Some(group.clone()), queued),
                );
            }
            let mut told = group.subscribe();
            // Lets the line go: the next turns join the group.
            drop(self);
            let outcome = match told.wait_for(Option::is_some).await {
                Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
                Err(_) => Err("the write's group ended without a word".to_string()),
            };
            outcome
        };
        rolled_back?;
        outcome.map_err(|e| anyhow::anyhow!("commit failed: {e}").into())
    }
}

/// A turn dropped before it finished (its caller's future dropped, or an early `?`) leaves
/// the line a note of what to undo, done by whoever holds it next, and a task queued to
/// commit its group (other turns' work may be in it) so the transaction never stays open.
impl Drop for Turn {
    fn drop(&mut self) {
        let name = self.savepoint;
        if let Some(opening) = self.cut {
            self.line.repair = Some(Repair::Cut { name, opening });
        } else if self.abandoned {
            self.line.repair = Some(Repair::RollBackTo(name));
        } else if self.group.is_none() {
            return;
        }
        let queued = Queued::new(&self.shared.waiting);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(self.shared.clone().commit_later(self.group.take(), queued));
        }
    }
}

impl std::ops::Deref for Writer {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Writer::Own(turn) => &turn.line.conn,
            Writer::Pooled(c) => c,
        }
    }
}

/// Statements run on the writer outside [`Writer::begin`] are part of the group's
/// transaction when one is open, so they too are durable only after [`Writer::finish`].
impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Writer::Own(turn) => {
                turn.join();
                &mut turn.line.conn
            }
            Writer::Pooled(c) => c,
        }
    }
}

/// A write transaction in a turn (see [`Writer::begin`]). Dropped without
/// [`WriteTx::commit`], it is rolled back.
pub(super) enum WriteTx<'a> {
    Savepoint(Savepoint<'a>),
    Pooled(PgTx<'a>),
}

/// A transaction on a pooled PostgreSQL connection, opened with a plain `BEGIN`.
pub(super) struct PgTx<'a> {
    conn: &'a mut PoolConnection<sqlx::Any>,
    /// `BEGIN` may have run and neither `COMMIT` nor `ROLLBACK` has.
    open: bool,
}

impl PgTx<'_> {
    /// Runs `COMMIT` or `ROLLBACK`. Should it fail, the transaction's state is unknown and
    /// the connection is closed on drop.
    async fn end(&mut self, statement: &str) -> Result<(), StoreError> {
        self.conn.execute(statement).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Closing the connection makes PostgreSQL roll the transaction back.
            self.conn.close_on_drop();
        }
    }
}

pub(super) struct Savepoint<'a> {
    turn: &'a mut Turn,
    open: bool,
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            // Rolled back when the turn finishes, or by the line's next holder.
            self.turn.abandoned = true;
        }
    }
}

impl WriteTx<'_> {
    /// Keeps this transaction's writes. On SQLite they become durable with the group's
    /// COMMIT, which [`Writer::finish`] waits for.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Savepoint(mut s) => {
                s.open = false;
                Ok(())
            }
            WriteTx::Pooled(mut tx) => tx.end("COMMIT").await,
        }
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Savepoint(mut s) => {
                s.open = false;
                s.turn.roll_back().await
            }
            WriteTx::Pooled(mut tx) => tx.end("ROLLBACK").await,
        }
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteTx::Savepoint(s) => &s.turn.line.conn,
            WriteTx::Pooled(tx) => tx.conn,
        }
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Savepoint(s) => &mut s.turn.line.conn,
            WriteTx::Pooled(tx) => tx.conn,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Executor;

    use super::Writer;
    use crate::storage::{test_postgres, Store};

    async fn store(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let store = Store::connect(&url, 4).await.unwrap();
        store
            .pool
            .execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        store
    }

    async fn keys(store: &Store) -> Vec<i64> {
        sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(&store.pool)
            .await
            .unwrap()
    }

    async fn insert(conn: &mut sqlx::AnyConnection, k: i64) {
        sqlx::query("INSERT INTO t (k) VALUES ($1)")
            .bind(k)
            .execute(conn)
            .await
            .unwrap();
    }

    /// Waits until `n` turns are queued for the writer.
    async fn queued(store: &Store, n: usize) {
        let shared = store.writer.as_ref().unwrap();
        while shared.waiting.load(super::Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn commits(store: &Store) -> u64 {
        store
            .write_counts()
            .unwrap()
            .commits
            .load(super::Ordering::Relaxed)
    }

    /// A turn that has inserted `k` and kept it, still holding the writer.
    async fn holding(store: &Store, k: i64) -> Writer {
        let mut writer = store.writer().await.unwrap();
        let mut tx = writer.begin().await.unwrap();
        insert(&mut tx, k).await;
        tx.commit().await.unwrap();
        writer
    }

    /// A turn that inserts `k` and keeps it (or rolls it back), in a task of its own.
    fn spawn_turn(store: &Store, k: i64, keep: bool) -> tokio::task::JoinHandle<()> {
        let store = store.clone();
        tokio::spawn(async move {
            let mut writer = store.writer().await.unwrap();
            let mut tx = writer.begin().await.unwrap();
            insert(&mut tx, k).await;
            if keep {
                tx.commit().await.unwrap();
            } else {
                tx.rollback().await.unwrap();
            }
            writer.finish().await.unwrap();
            // Durable and visible to every connection once finished.
            assert_eq!(keys(&store).await.contains(&k), keep);
        })
    }

    #[tokio::test]
    async fn turns_queued_together_share_one_commit_and_refusals_undo_only_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let first = holding(&store, 1).await;
        let others: Vec<_> = (2..=11).map(|k| spawn_turn(&store, k, k != 5)).collect();
        queued(&store, 10).await;
        let before = commits(&store);
        first.finish().await.unwrap();
        for t in others {
            t.await.unwrap();
        }
        assert_eq!(
            commits(&store) - before,
            1,
            "one COMMIT for the eleven turns"
        );
        assert_eq!(keys(&store).await, vec![1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
        let w = store.write_counts().unwrap();
        assert_eq!(w.turns.load(super::Ordering::Relaxed), 11);
    }

    /// After a clean stop the database file alone holds every write: an operator who copies
    /// it (without the `-wal` file beside it) has everything.
    #[tokio::test]
    async fn closing_leaves_every_write_in_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let turns: Vec<_> = (1..=20).map(|k| spawn_turn(&store, k, true)).collect();
        for t in turns {
            t.await.unwrap();
        }
        let wal = dir.path().join("w.db-wal");
        assert!(
            std::fs::metadata(&wal).map_or(0, |m| m.len()) > 0,
            "the writes went through the write-ahead log"
        );
        store.close().await;
        assert_eq!(
            std::fs::metadata(&wal).map_or(0, |m| m.len()),
            0,
            "the log was emptied into the database file"
        );
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("w.db"), copy.path().join("w.db")).unwrap();
        let url = format!("sqlite://{}/w.db", copy.path().display());
        let copied = Store::connect(&url, 1).await.unwrap();
        assert_eq!(keys(&copied).await, (1..=20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_turn_alone_commits_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        spawn_turn(&store, 1, true).await.unwrap();
        spawn_turn(&store, 2, true).await.unwrap();
        assert_eq!(commits(&store), 2);
    }

    #[tokio::test]
    async fn an_abandoned_turn_is_undone_and_its_group_still_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let first = holding(&store, 1).await;
        // Inserts 2, then its caller gives up (an early return, a dropped request).
        let abandoned = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut writer = store.writer().await.unwrap();
                let mut tx = writer.begin().await.unwrap();
                insert(&mut tx, 2).await;
            })
        };
        queued(&store, 1).await;
        let waiting = tokio::spawn(async move { first.finish().await });
        abandoned.await.unwrap();
        waiting.await.unwrap().unwrap();
        spawn_turn(&store, 3, true).await.unwrap();
        assert_eq!(keys(&store).await, vec![1, 3]);
        // No transaction was left open: another connection writes without waiting.
        tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("INSERT INTO t (k) VALUES (4)").execute(&store.pool),
        )
        .await
        .expect("the write lock is free")
        .unwrap();
    }

    #[tokio::test]
    async fn a_turn_cut_off_on_its_way_is_undone_and_its_group_still_commits() {
        use futures_util::FutureExt;

        use crate::storage::batch::Batch;

        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let first = holding(&store, 1).await;
        let cut = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut writer = store.writer().await.unwrap();
                let mut batch = Batch::new();
                batch.push("INSERT INTO t (k) VALUES (2)", Vec::new());
                batch.push(
                    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000000) \
                     SELECT COUNT(*) FROM c",
                    Vec::new(),
                );
                // Polled once, then its caller goes away with the batch under way.
                assert!(writer.begin_with(batch).now_or_never().is_none());
            })
        };
        queued(&store, 1).await;
        let waiting = tokio::spawn(async move { first.finish().await });
        cut.await.unwrap();
        waiting.await.unwrap().unwrap();
        spawn_turn(&store, 3, true).await.unwrap();
        spawn_turn(&store, 4, false).await.unwrap();
        assert_eq!(keys(&store).await, vec![1, 3]);
    }

    /// Whichever of a cut-off trip's statements ran, the turn's own work is undone, the
    /// others' kept, and the next turns find the savepoints they expect.
    #[tokio::test]
    async fn every_way_a_trip_can_stop_is_repaired_exactly() {
        use super::{Repair, NAMES};

        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let shared = store.writer.as_ref().unwrap().clone();
        // What ran of "RELEASE <before>; SAVEPOINT <name>; INSERT": nothing, the release, the
        // savepoint, all three.
        for (ran, k) in [(0, 10), (1, 20), (2, 30), (3, 40)] {
            let mut first = holding(&store, k).await;
            let Writer::Own(turn) = &mut first else {
                panic!("SQLite has a writer turn")
            };
            let before = turn.line.open.as_ref().unwrap().top;
            let name = if before == NAMES[0] {
                NAMES[1]
            } else {
                NAMES[0]
            };
            let statements = [
                format!("RELEASE {before}"),
                format!("SAVEPOINT {name}"),
                format!("INSERT INTO t (k) VALUES ({})", k + 1),
            ];
            for sql in &statements[..ran] {
                turn.line.conn.execute(sql.as_str()).await.unwrap();
            }
            turn.line
                .repair(Repair::Cut {
                    name,
                    opening: false,
                })
                .await;
            assert!(!turn.line.open.as_ref().unwrap().broken, "{ran}");
            drop(first);
            // The next turns carry on in the same group or a new one.
            spawn_turn(&store, k + 2, true).await.unwrap();
            spawn_turn(&store, k + 3, false).await.unwrap();
            let keys = keys(&store).await;
            assert!(
                keys.contains(&k) && keys.contains(&(k + 2)),
                "{ran}: {keys:?}"
            );
            assert!(
                !keys.contains(&(k + 1)) && !keys.contains(&(k + 3)),
                "{ran}: {keys:?}"
            );
        }
        assert_eq!(shared.waiting.load(super::Ordering::SeqCst), 0);
    }

    /// On PostgreSQL `BEGIN` rides with the first batch and the transaction is not sqlx's:
    /// one dropped half way, or failed, must never reach the pool still open.
    #[tokio::test]
    async fn postgres_transactions_left_open_never_reach_the_pool() {
        sqlx::any::install_default_drivers();
        let Some((admin, url)) = test_postgres::database("storage::writer").await else {
            return;
        };
        let store = Store::connect(&url, 2).await.unwrap();
        store
            .pool
            .execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)")
            .await
            .unwrap();
        let insert = |k: i64| {
            let mut batch = super::Batch::new();
            batch.push(
                "INSERT INTO t (k, v) VALUES ($1, $2) RETURNING k",
                vec![k.into(), "it's \\ $1".into()],
            );
            let count = batch.push("SELECT COUNT(*) FROM t", Vec::new());
            (batch, count)
        };
        // Dropped without commit.
        {
            let mut w = store.writer().await.unwrap();
            let (batch, count) = insert(1);
            let (_tx, results) = w.begin_with(batch).await.unwrap();
            assert_eq!(results.rows(count).len(), 1);
        }
        // Failed half way: the second statement breaks the first one's key.
        {
            let mut w = store.writer().await.unwrap();
            let mut batch = super::Batch::new();
            batch.push("INSERT INTO t (k) VALUES (7)", Vec::new());
            batch.push("INSERT INTO t (k) VALUES (7)", Vec::new());
            assert!(w.begin_with(batch).await.is_err());
        }
        // Committed; the rows of each statement come back apart, the text as written.
        {
            let mut w = store.writer().await.unwrap();
            let (batch, count) = insert(2);
            let (tx, results) = w.begin_with(batch).await.unwrap();
            let n: i64 = sqlx::Row::try_get(&results.rows(count)[0], 0).unwrap();
            assert_eq!(n, 1);
            tx.commit().await.unwrap();
            w.finish().await.unwrap();
        }
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT k, v FROM t ORDER BY k")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows, vec![(2, "it's \\ $1".to_string())]);
        // No connection of the pool, nor any other, sits in a transaction.
        let db = url.rsplit('/').next().unwrap().to_string();
        let mut open = -1;
        for _ in 0..100 {
            open = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND state LIKE 'idle in transaction%'",
            )
            .bind(&db)
            .fetch_one(&store.pool)
            .await
            .unwrap();
            if open == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(open, 0, "a connection was left in a transaction");
        test_postgres::remove(store, &admin, &url).await;
    }
}
