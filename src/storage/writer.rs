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
//! Each engine's mechanics live apart: `sqlite` (the writer connection, the transaction its
//! turns share and its group commit; a turn and its savepoints in `sqlite/turn.rs`) and
//! `postgres` (a pooled connection and [`PgTx`]). This file is what the rest of storage
//! holds: a [`Writer`] and the [`WriteTx`] opened in it.

use sqlx::pool::PoolConnection;
use sqlx::AnyConnection;

use super::batch::{Batch, Results};
use super::StoreError;

mod postgres;
mod sqlite;

use postgres::PgTx;
use sqlite::{Savepoint, Turn};

pub(super) use sqlite::SharedWriter;
pub use sqlite::WriteCounts;

/// A connection held for writing (see [`Store::writer`](super::Store::writer)). End every
/// turn with [`Writer::finish`]: on SQLite that is where its writes become durable.
pub(super) enum Writer {
    Own(Turn),
    Pooled(PoolConnection<sqlx::Any>),
}

impl Writer {
    /// A transaction for this turn: a savepoint in the group's transaction on SQLite (which
    /// opens one with `BEGIN IMMEDIATE`, taking the write lock at once), a transaction of its
    /// own on PostgreSQL.
    pub async fn begin(&mut self) -> Result<WriteTx<'_>, StoreError> {
        match self {
            Writer::Own(turn) => {
                let (savepoint, _) = turn.begin_with(Batch::new()).await?;
                Ok(WriteTx::Savepoint(savepoint))
            }
            Writer::Pooled(c) => Ok(WriteTx::Pooled(PgTx::begin(c).await?)),
        }
    }

    /// [`Writer::begin`], with `batch` as the transaction's first statements: on SQLite the
    /// savepoint and the batch go to the database in one trip.
    pub async fn begin_with(&mut self, batch: Batch) -> Result<(WriteTx<'_>, Results), StoreError> {
        match self {
            Writer::Own(turn) => {
                let (savepoint, results) = turn.begin_with(batch).await?;
                Ok((WriteTx::Savepoint(savepoint), results))
            }
            Writer::Pooled(c) => {
                let (tx, results) = PgTx::begin_with(c, batch).await?;
                Ok((WriteTx::Pooled(tx), results))
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

impl std::ops::Deref for Writer {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Writer::Own(turn) => turn.conn(),
            Writer::Pooled(c) => c,
        }
    }
}

/// Statements run on the writer outside [`Writer::begin`] are part of the group's
/// transaction when one is open, so they too are durable only after [`Writer::finish`].
impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Writer::Own(turn) => turn.conn_mut(),
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

impl WriteTx<'_> {
    /// Keeps this transaction's writes. On SQLite they become durable with the group's
    /// COMMIT, which [`Writer::finish`] waits for.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Savepoint(s) => {
                s.keep();
                Ok(())
            }
            WriteTx::Pooled(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Savepoint(s) => s.rollback().await,
            WriteTx::Pooled(tx) => tx.rollback().await,
        }
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteTx::Savepoint(s) => s.conn(),
            WriteTx::Pooled(tx) => tx.conn(),
        }
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Savepoint(s) => s.conn_mut(),
            WriteTx::Pooled(tx) => tx.conn_mut(),
        }
    }
}

#[cfg(test)]
mod tests;
