//! Statements sent to the database together. A busy write transaction is mostly waiting:
//! every statement is one trip to SQLite's connection thread (or to PostgreSQL) and back,
//! and on SQLite the write lock is held across all of them. A batch takes its statements in
//! one trip on SQLite; on PostgreSQL, which takes one statement per request, they go one
//! after another on the same connection. Either way each statement's rows come back apart.
//!
//! Every statement in a batch runs, whatever the ones before it returned: a batch is for
//! statements the caller can judge afterwards, inside a transaction it rolls back when the
//! outcome says so.

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Either, Executor};

use super::{Engine, StoreError};

/// A value for a statement's placeholder.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::Int(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(Some(v.to_string()))
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(Some(v))
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        Arg::Text(v.map(str::to_string))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::Text(v)
    }
}

/// Which statement of a batch; its rows are found with [`Results::rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Step(usize);

/// Statements, each numbering its own placeholders from `$1`.
#[derive(Debug, Default)]
pub(super) struct Batch {
    statements: Vec<(String, Vec<Arg>)>,
}

/// A batch that did not run through.
pub(super) struct Failed {
    /// How many of the statements before the batch ran.
    pub lead_ran: usize,
    pub error: StoreError,
}

/// The rows each statement of a batch returned.
pub(super) struct Results {
    rows: Vec<Vec<AnyRow>>,
}

impl Results {
    pub fn rows(&self, step: Step) -> &[AnyRow] {
        &self.rows[step.0]
    }

    /// The statement's first row, if it returned any.
    pub fn first(&self, step: Step) -> Option<&AnyRow> {
        self.rows[step.0].first()
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a statement. Its SQL must not contain `$` other than in placeholders.
    pub fn push(&mut self, sql: impl Into<String>, args: Vec<Arg>) -> Step {
        self.statements.push((sql.into(), args));
        Step(self.statements.len() - 1)
    }

    /// Runs every statement on `conn`, in order.
    pub async fn run(
        self,
        conn: &mut AnyConnection,
        engine: Engine,
    ) -> Result<Results, StoreError> {
        match engine {
            Engine::Sqlite => self.run_at_once(conn).await,
            Engine::Postgres => self.run_in_turn(conn).await,
        }
    }

    /// SQLite: one query string, the placeholders numbered through, the rows split at each
    /// statement's end (sqlx reports a result after each statement's rows). sqlx calls
    /// binding several statements at once deprecated and keeps it for SQLite only; the lock
    /// file pins the version this is built and tested with.
    async fn run_at_once(self, conn: &mut AnyConnection) -> Result<Results, StoreError> {
        self.run_after(&[], conn).await.map_err(|f| f.error)
    }

    /// SQLite: the batch after `lead`, statements without placeholders whose results are
    /// dropped, in the same trip.
    pub(super) async fn run_after(
        self,
        lead: &[&str],
        conn: &mut AnyConnection,
    ) -> Result<Results, Failed> {
        let mut sql = String::new();
        for statement in lead {
            sql.push_str(statement);
            sql.push_str(";\n");
        }
        let mut args = Vec::new();
        for (statement, statement_args) in self.statements.iter() {
            sql.push_str(&renumber(statement, args.len()));
            sql.push_str(";\n");
            args.extend(statement_args.iter().cloned());
        }
        let mut rows = vec![Vec::new()];
        let mut stream = conn.fetch_many(bind_all(sqlx::query(&sql), args));
        loop {
            match stream.try_next().await {
                Ok(Some(Either::Right(row))) => rows.last_mut().map_or((), |r| r.push(row)),
                Ok(Some(Either::Left(_))) => rows.push(Vec::new()),
                Ok(None) => break,
                Err(e) => {
                    return Err(Failed {
                        lead_ran: (rows.len() - 1).min(lead.len()),
                        error: e.into(),
                    })
                }
            }
        }
        drop(stream);
        rows.pop();
        rows.drain(..lead.len().min(rows.len()));
        if rows.len() != self.statements.len() {
            return Err(Failed {
                lead_ran: lead.len(),
                error: anyhow::anyhow!(
                    "a batch of {} statements returned {} results",
                    self.statements.len(),
                    rows.len()
                )
                .into(),
            });
        }
        Ok(Results { rows })
    }

    async fn run_in_turn(self, conn: &mut AnyConnection) -> Result<Results, StoreError> {
        let mut rows = Vec::with_capacity(self.statements.len());
        for (sql, args) in self.statements {
            rows.push(
                bind_all(sqlx::query(&sql), args)
                    .fetch_all(&mut *conn)
                    .await?,
            );
        }
        Ok(Results { rows })
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all(mut query: Query<'_>, args: Vec<Arg>) -> Query<'_> {
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
        };
    }
    query
}

/// `sql` with each `$n` shifted by `offset`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
            n = n * 10 + (d as usize - '0' as usize);
            digits = true;
            chars.next();
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn placeholders_are_shifted_past_the_earlier_statements() {
        assert_eq!(renumber("SELECT $1, $2", 0), "SELECT $1, $2");
        assert_eq!(
            renumber("UPDATE t SET a = $1 WHERE b = $12 AND c = $2", 3),
            "UPDATE t SET a = $4 WHERE b = $15 AND c = $5"
        );
        assert_eq!(renumber("SELECT '$', $1", 2), "SELECT '$', $3");
    }
}
