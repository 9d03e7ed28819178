//! The keys members are found by (`member_search`, made by `domain::search::terms`): written
//! with the member in the caller's transaction, and made again at start-up for members whose
//! keys are missing or from an older version of the rules (`index_members_for_search`).

use sqlx::{AnyConnection, FromRow};

use crate::domain::member::Member;
use crate::domain::search::{self, Findable, TERMS_VERSION};
use crate::storage::sql::placeholders;
use crate::storage::{Store, StoreError};

/// A member's columns the search keys are made of.
#[derive(FromRow)]
pub(in crate::storage) struct FindableRow {
    id: String,
    program_id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    external_id: Option<String>,
    serial: String,
}

impl FindableRow {
    fn of(m: &Member) -> FindableRow {
        let f = Findable::from(m);
        FindableRow {
            id: m.id.to_string(),
            program_id: m.program_id.to_string(),
            name: f.name.to_string(),
            email: f.email.map(str::to_string),
            phone: f.phone.map(str::to_string),
            external_id: f.external_id.map(str::to_string),
            serial: f.serial.to_string(),
        }
    }

    fn findable(&self) -> Findable<'_> {
        Findable {
            name: &self.name,
            email: self.email.as_deref(),
            phone: self.phone.as_deref(),
            external_id: self.external_id.as_deref(),
            serial: &self.serial,
        }
    }
}

/// Adds the search keys of `members`, which have none yet.
pub(in crate::storage) async fn add_terms_in(
    conn: &mut AnyConnection,
    members: &[Member],
) -> Result<(), StoreError> {
    let rows: Vec<FindableRow> = members.iter().map(FindableRow::of).collect();
    add_rows_in(conn, &rows).await
}

async fn add_rows_in(conn: &mut AnyConnection, members: &[FindableRow]) -> Result<(), StoreError> {
    let rows: Vec<(&FindableRow, String)> = members
        .iter()
        .flat_map(|m| search::terms(m.findable()).into_iter().map(move |t| (m, t)))
        .collect();
    for chunk in rows.chunks(300) {
        let values = (0..chunk.len())
            .map(|i| format!("({})", placeholders(1 + i * 3, 3)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO member_search (program_id, term, member_id) VALUES {values} \
             ON CONFLICT DO NOTHING"
        );
        let mut q = sqlx::query(&sql);
        for (m, term) in chunk {
            q = q
                .bind(m.program_id.as_str())
                .bind(term.as_str())
                .bind(m.id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the search keys of `members` with those of what they are now, and their sort key.
pub(in crate::storage) async fn replace_terms_in(
    conn: &mut AnyConnection,
    members: &[Member],
) -> Result<(), StoreError> {
    let rows: Vec<FindableRow> = members.iter().map(FindableRow::of).collect();
    replace_rows_in(conn, &rows).await
}

async fn replace_rows_in(
    conn: &mut AnyConnection,
    members: &[FindableRow],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    remove_terms_in(conn, &ids).await?;
    add_rows_in(conn, members).await?;
    for chunk in members.chunks(200) {
        let values = (0..chunk.len())
            .map(|i| format!("({})", placeholders(2 + i * 2, 2)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE members SET search_terms = $1, name_key = v.column2 \
             FROM (VALUES {values}) AS v WHERE members.id = v.column1"
        );
        let mut q = sqlx::query(&sql).bind(TERMS_VERSION);
        for m in chunk {
            q = q.bind(m.id.as_str()).bind(search::name_key(&m.name));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn remove_terms_in(conn: &mut AnyConnection, ids: &[&str]) -> Result<(), StoreError> {
    for chunk in ids.chunks(200) {
        let sql = format!(
            "DELETE FROM member_search WHERE member_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Makes the search keys of every member that has none, or keys from an older version of
    /// the rules, 500 members per transaction; returns how many. Runs after the migrations:
    /// once after an upgrade, and in no time when every member is current. Instances starting
    /// together may both work on a member; the keys come out the same.
    pub(in crate::storage) async fn index_members_for_search(&self) -> Result<u64, StoreError> {
        let mut done = 0;
        loop {
            let rows: Vec<FindableRow> = sqlx::query_as(
                "SELECT id, program_id, name, email, phone, external_id, serial FROM members \
                 WHERE search_terms < $1 ORDER BY id LIMIT 500",
            )
            .bind(TERMS_VERSION)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut writer = self.writer().await?;
            let mut tx = writer.begin().await?;
            replace_rows_in(&mut tx, &rows).await?;
            tx.commit().await?;
            writer.finish().await?;
            done += rows.len() as u64;
            if done % 50_000 < 500 {
                tracing::info!(members = done, "member search keys made");
            }
        }
    }
}
