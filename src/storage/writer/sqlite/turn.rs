//! A turn on SQLite's writer connection: its savepoints in the group's transaction, how it
//! finishes (committing the group, or leaving it open for the turns queued behind it), and
//! what it leaves for the line's next holder when dropped half way.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sqlx::{AnyConnection, Executor};
use tokio::sync::{watch, OwnedMutexGuard};

use super::{commit, Group, Line, Outcome, Queued, Repair, SharedWriter, NAMES};
use crate::storage::batch::{Batch, Results};
use crate::storage::{Engine, StoreError};

/// Turns in one group at most: bounds how long the first of them waits for the COMMIT.
const MAX_GROUP: usize = 64;

/// A turn on SQLite's writer connection, holding it until the turn ends.
pub(in crate::storage) struct Turn {
    // Visible to the writer's tests, which look inside the line.
    pub(in crate::storage::writer) line: OwnedMutexGuard<Line>,
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

impl Turn {
    /// A turn holding the line from now until it ends.
    pub(super) fn new(line: OwnedMutexGuard<Line>, shared: SharedWriter) -> Turn {
        Turn {
            line,
            shared,
            group: None,
            savepoint: NAMES[0],
            abandoned: false,
            cut: None,
        }
    }

    /// A transaction for this turn, with `batch` as its first statements: a savepoint in the
    /// group's transaction, in one trip with the batch (see
    /// [`Writer::begin_with`](crate::storage::writer::Writer::begin_with)).
    pub(in crate::storage::writer) async fn begin_with(
        &mut self,
        batch: Batch,
    ) -> Result<(Savepoint<'_>, Results), StoreError> {
        let results = self.savepoint(batch).await?;
        Ok((
            Savepoint {
                turn: self,
                open: true,
            },
            results,
        ))
    }

    pub(in crate::storage::writer) fn conn(&self) -> &AnyConnection {
        &self.line.conn
    }

    /// For statements outside a savepoint: they are part of the group's transaction when
    /// one is open, so the turn joins it.
    pub(in crate::storage::writer) fn conn_mut(&mut self) -> &mut AnyConnection {
        self.join();
        &mut self.line.conn
    }

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

    /// See [`Writer::finish`](crate::storage::writer::Writer::finish).
    pub(in crate::storage::writer) async fn finish(mut self) -> Result<(), StoreError> {
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

/// A transaction of a turn's: a savepoint in the group's transaction (see
/// [`Writer::begin`](crate::storage::writer::Writer::begin)).
pub(in crate::storage) struct Savepoint<'a> {
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

impl Savepoint<'_> {
    /// Keeps its writes: they become durable with the group's COMMIT.
    pub(in crate::storage::writer) fn keep(mut self) {
        self.open = false;
    }

    pub(in crate::storage::writer) async fn rollback(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.turn.roll_back().await
    }

    pub(in crate::storage::writer) fn conn(&self) -> &AnyConnection {
        &self.turn.line.conn
    }

    pub(in crate::storage::writer) fn conn_mut(&mut self) -> &mut AnyConnection {
        &mut self.turn.line.conn
    }
}
