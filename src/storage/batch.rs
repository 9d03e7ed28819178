//! Statements sent to the database together. A busy write transaction is mostly waiting:
//! every statement is one trip to SQLite's connection thread (or to PostgreSQL) and back,
//! and on SQLite the write lock is held across all of them. A batch takes its statements in
//! one trip on either engine, and each statement's rows come back apart.
//!
//! - SQLite: one query string with the placeholders numbered through.
//! - PostgreSQL takes one statement per prepared request, but any number in a simple query,
//!   which has no placeholders: there the arguments are written into the text as literals
//!   of exactly the types sqlx binds them as (`int8`, `text`), escaped so that no value can
//!   end its literal (see [`literal`]).
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

    /// Runs every statement on `conn`, in order, in one trip.
    pub async fn run(
        self,
        conn: &mut AnyConnection,
        engine: Engine,
    ) -> Result<Results, StoreError> {
        self.run_after(&[], conn, engine).await.map_err(|f| f.error)
    }

    /// The batch after `lead`, statements without placeholders whose results are dropped,
    /// in the same trip. The rows are split at each statement's end: sqlx reports a result
    /// after each statement's rows, on both engines.
    ///
    /// On SQLite the arguments are bound. sqlx calls binding several statements at once
    /// deprecated and keeps it for SQLite only; the lock file pins the version this is built
    /// and tested with. On PostgreSQL they are written in (see the module's note).
    pub(super) async fn run_after(
        self,
        lead: &[&str],
        conn: &mut AnyConnection,
        engine: Engine,
    ) -> Result<Results, Failed> {
        let mut sql = String::new();
        for statement in lead {
            sql.push_str(statement);
            sql.push_str(";\n");
        }
        let mut args = Vec::new();
        for (statement, statement_args) in self.statements.iter() {
            match engine {
                Engine::Sqlite => {
                    sql.push_str(&renumber(statement, args.len()));
                    args.extend(statement_args.iter().cloned());
                }
                Engine::Postgres => {
                    let written = inline(statement, statement_args)
                        .map_err(|error| Failed { lead_ran: 0, error })?;
                    sql.push_str(&written);
                }
            }
            sql.push_str(";\n");
        }
        let mut rows = vec![Vec::new()];
        let mut stream = match engine {
            Engine::Sqlite => conn.fetch_many(bind_all(sqlx::query(&sql), args)),
            // A query string alone, with no arguments, goes as one simple query.
            Engine::Postgres => conn.fetch_many(sql.as_str()),
        };
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
    each_placeholder(sql, &mut out, |n, out| {
        out.push('$');
        out.push_str(&(n + offset).to_string());
        Ok(())
    })
    .map_or_else(|_| sql.to_string(), |()| out)
}

/// `sql` with each `$n` replaced by the literal of `args[n - 1]`.
fn inline(sql: &str, args: &[Arg]) -> Result<String, StoreError> {
    let mut out = String::with_capacity(sql.len() + 16 * args.len());
    each_placeholder(sql, &mut out, |n, out| {
        let arg = n
            .checked_sub(1)
            .and_then(|i| args.get(i))
            .ok_or_else(|| anyhow::anyhow!("placeholder ${n} has no argument"))?;
        literal(arg, out)
    })?;
    Ok(out)
}

/// Copies `sql` to `out`, handing each placeholder's number to `write` instead.
fn each_placeholder(
    sql: &str,
    out: &mut String,
    mut write: impl FnMut(usize, &mut String) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            n = n * 10 + (d as usize - '0' as usize);
            digits = true;
            chars.next();
        }
        if digits {
            write(n, out)?;
        } else {
            out.push('$');
        }
    }
    Ok(())
}

/// A PostgreSQL literal of the type sqlx would bind `arg` as. Text goes in an escape string
/// (`E'…'`), whose meaning does not depend on `standard_conforming_strings`: every backslash
/// and quote in the value is doubled, so the value cannot end the literal or start an escape
/// sequence. PostgreSQL text cannot hold NUL, bound or not.
fn literal(arg: &Arg, out: &mut String) -> Result<(), StoreError> {
    match arg {
        Arg::Int(None) => out.push_str("NULL::int8"),
        Arg::Text(None) => out.push_str("NULL::text"),
        Arg::Int(Some(v)) => {
            out.push('\'');
            out.push_str(&v.to_string());
            out.push_str("'::int8");
        }
        Arg::Text(Some(v)) => {
            if v.contains('\0') {
                return Err(anyhow::anyhow!("text for PostgreSQL cannot contain NUL").into());
            }
            out.push_str("E'");
            for c in v.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push_str("'::text");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
