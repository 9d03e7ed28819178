//! Cards installed in and removed from wallets: an append-only row for reports and the
//! `card.installed` / `card.removed` webhook event, both in the transaction that saw the
//! change (a new or removed Apple registration, a Google save or delete callback).

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::card_event::{CardChange, Wallet};
use crate::domain::events;
use crate::domain::ids::ProgramId;
use crate::domain::member::Member;
use crate::storage::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use crate::storage::{Store, StoreError};

/// One recorded change, as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CardEventRecord {
    pub id: i64,
    pub member_id: String,
    pub wallet: String,
    pub event: String,
    pub created_at: i64,
}

/// Which member a wallet change is about, as the caller knows them.
pub(in crate::storage) enum CardOf<'a> {
    Serial(&'a str),
    Member(&'a str),
}

impl Store {
    /// Records `change` of the member's card in `wallet` and emits its webhook event. Must
    /// follow a write in the same transaction (SQLite takes its write lock at the first write).
    pub(in crate::storage) async fn card_changed(
        &self,
        conn: &mut AnyConnection,
        card: CardOf<'_>,
        wallet: Wallet,
        change: CardChange,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (column, key) = match card {
            CardOf::Serial(s) => ("serial", s),
            CardOf::Member(m) => ("id", m),
        };
        let row: Option<MemberRow> = sqlx::query_as(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE {column} = $1"
        ))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            // Registrations and Google objects reference members, so this cannot happen.
            tracing::warn!(
                wallet = wallet.as_str(),
                "card change for an unknown member"
            );
            return Ok(());
        };
        let member = Member::try_from(row)?;
        sqlx::query(
            "INSERT INTO card_events (program_id, member_id, wallet, event, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(member.program_id.as_str())
        .bind(member.id.as_str())
        .bind(wallet.as_str())
        .bind(change.as_str())
        .bind(to_micros(now))
        .execute(&mut *conn)
        .await?;
        if change == CardChange::Installed {
            crate::storage::distribution::links::attribute_install(conn, &member.id).await?;
        }
        let event = events::card_event(change.event(), &member, wallet.as_str());
        self.emit_event(conn, &member.program_id, event.kind, event.data, now)
            .await?;
        Ok(())
    }

    /// The program's card changes, oldest first.
    pub async fn card_events(
        &self,
        program: &ProgramId,
    ) -> Result<Vec<CardEventRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, member_id, wallet, event, created_at FROM card_events \
             WHERE program_id = $1 ORDER BY created_at, id",
        )
        .bind(program.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}
