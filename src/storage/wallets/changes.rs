//! Recording that cards changed, inside the transaction that changed them: the change mark
//! that "serials updated since" compares against, the Last-Modified stamp, and the outbox
//! job that tells the wallets. Every write that changes what a card shows goes through here.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::domain::apple_ids::SerialNumber;
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::job::Job;
use crate::storage::operations::outbox::enqueue;
use crate::storage::{Engine, Store, StoreError};

impl Store {
    /// The value rows changed by the current transaction are stamped with.
    pub(in crate::storage) fn mark_sql(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "(SELECT value FROM change_clock WHERE id = 1)",
            // The transaction id; see migrations/postgres/0002 for why this is exact.
            Engine::Postgres => "pg_current_xact_id()",
        }
    }

    fn greatest(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "MAX",
            Engine::Postgres => "GREATEST",
        }
    }

    /// SQLite: the statement that advances the change clock, once per transaction, before
    /// stamping. PostgreSQL needs none.
    pub(in crate::storage) fn tick_sql(&self) -> Option<&'static str> {
        match self.engine {
            Engine::Sqlite => Some("UPDATE change_clock SET value = value + 1 WHERE id = 1"),
            Engine::Postgres => None,
        }
    }

    async fn tick(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        if let Some(sql) = self.tick_sql() {
            sqlx::query(sql).execute(conn).await?;
        }
        Ok(())
    }

    /// The assignments that stamp a member's card as changed in an `UPDATE members`, with the
    /// current time in seconds at `$now`. Last-Modified moves forward by at least a second per
    /// change, and past the program's, so the card's combined Last-Modified grows with every
    /// version.
    pub(in crate::storage) fn card_stamp_sql(&self, now: usize) -> String {
        format!(
            "pass_mark = {mark}, pass_modified = {max}(${now}, pass_modified + 1, \
             (SELECT p.pass_modified + 1 FROM programs p WHERE p.id = members.program_id))",
            mark = self.mark_sql(),
            max = self.greatest(),
        )
    }

    /// One member's card changed: stamp it and enqueue the fan-out to its wallets, due after
    /// the coalescing window so a burst of changes becomes one push per device.
    pub(in crate::storage) async fn member_card_changed(
        &self,
        conn: &mut AnyConnection,
        member: &MemberId,
        serial: &SerialNumber,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.tick(conn).await?;
        sqlx::query(&format!(
            "UPDATE members SET {} WHERE id = $1",
            self.card_stamp_sql(2)
        ))
        .bind(member.as_str())
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
        enqueue(
            conn,
            &Job::pass_changed(serial),
            now + self.change_delay,
            now,
        )
        .await?;
        Ok(())
    }

    /// Something every card of the program shows changed.
    pub(in crate::storage) async fn program_cards_changed(
        &self,
        conn: &mut AnyConnection,
        program: &ProgramId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.tick(conn).await?;
        sqlx::query(&format!(
            "UPDATE programs SET pass_mark = {mark}, pass_modified = {max}($2, pass_modified + 1, \
             (SELECT COALESCE(MAX(m.pass_modified), 0) + 1 FROM members m WHERE m.program_id = programs.id)) \
             WHERE id = $1",
            mark = self.mark_sql(),
            max = self.greatest(),
        ))
        .bind(program.as_str())
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
        enqueue(
            conn,
            &Job::program_changed(program),
            now + self.change_delay,
            now,
        )
        .await?;
        Ok(())
    }
}
