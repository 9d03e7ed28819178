//! A turn on PostgreSQL: a pooled connection, and a transaction of its own on it.
//!
//! On PostgreSQL, whose row locks let writers run side by side, a turn is any pooled
//! connection and its transaction an ordinary one. `BEGIN` goes in the same trip as the
//! transaction's first batch. The transaction is opened and ended by plain statements, not
//! through sqlx's `Transaction` (which waits for `BEGIN` on its own), so [`PgTx`] guards it:
//! a connection left with its transaction open is closed, never returned to the pool, and
//! PostgreSQL rolls the transaction back.

use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Executor};

use crate::storage::batch::{Batch, Results};
use crate::storage::{Engine, StoreError};

/// PostgreSQL: opens a transaction for a batch.
const PG_BEGIN: [&str; 1] = ["BEGIN"];

/// A transaction on a pooled PostgreSQL connection, opened with a plain `BEGIN`.
pub(in crate::storage) struct PgTx<'a> {
    conn: &'a mut PoolConnection<sqlx::Any>,
    /// `BEGIN` may have run and neither `COMMIT` nor `ROLLBACK` has.
    open: bool,
}

impl<'a> PgTx<'a> {
    /// Opens a transaction on `conn` with a plain `BEGIN` (see
    /// [`Writer::begin`](crate::storage::writer::Writer::begin)).
    pub(super) async fn begin(
        conn: &'a mut PoolConnection<sqlx::Any>,
    ) -> Result<PgTx<'a>, StoreError> {
        let tx = PgTx { conn, open: true };
        tx.conn.execute("BEGIN").await?;
        Ok(tx)
    }

    /// Opens a transaction on `conn` with `batch` as its first statements, `BEGIN` in the
    /// same trip (see [`Writer::begin_with`](crate::storage::writer::Writer::begin_with)).
    pub(super) async fn begin_with(
        conn: &'a mut PoolConnection<sqlx::Any>,
        batch: Batch,
    ) -> Result<(PgTx<'a>, Results), StoreError> {
        let mut tx = PgTx { conn, open: true };
        match batch.run_after(&PG_BEGIN, tx.conn, Engine::Postgres).await {
            Ok(results) => Ok((tx, results)),
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

impl PgTx<'_> {
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        self.end("COMMIT").await
    }

    pub(super) async fn rollback(mut self) -> Result<(), StoreError> {
        self.end("ROLLBACK").await
    }

    pub(super) fn conn(&self) -> &AnyConnection {
        self.conn
    }

    pub(super) fn conn_mut(&mut self) -> &mut AnyConnection {
        self.conn
    }

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
