//! Reading scans back: one by id, the log newest first, and what the counter shows after a
//! scan.

use sqlx::Row;

use super::{ScanRow, SCAN_COLUMNS};
use crate::domain::ids::{MemberId, ProgramId, RewardId};
use crate::domain::ledger::LedgerEntry;
use crate::domain::reward::Reward;
use crate::domain::scan::Scan;
use crate::storage::batch::Batch;
use crate::storage::loyalty::ledger::LedgerRead;
use crate::storage::loyalty::rewards::RewardsRead;
use crate::storage::{Store, StoreError};

impl Store {
    pub async fn scan(&self, id: i64) -> Result<Scan, StoreError> {
        let row: ScanRow =
            sqlx::query_as(&format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        row.try_into()
    }

    /// Scans newest first, of one program or all, `limit` at a time, older than `before`.
    pub async fn scans(
        &self,
        program: Option<&ProgramId>,
        member: Option<&MemberId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Scan>, StoreError> {
        let rows: Vec<ScanRow> = sqlx::query_as(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE ($1 IS NULL OR program_id = $1) \
             AND ($2 IS NULL OR member_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(program.map(|p| p.as_str().to_string()))
        .bind(member.map(|m| m.as_str().to_string()))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Scan::try_from).collect()
    }

    /// What the counter shows after a scan, read in one trip: the program's rewards, the
    /// single-use ones the member has redeemed, and the member's latest `recent` entries.
    pub async fn counter_view(
        &self,
        program: &ProgramId,
        member: &MemberId,
        recent: u32,
    ) -> Result<CounterView, StoreError> {
        let mut batch = Batch::new();
        let rewards = RewardsRead::add(&mut batch, program);
        let redeemed = batch.push(
            "SELECT reward_id FROM scans WHERE member_id = $1 AND result = 'accepted' \
             AND single_use = 1 AND reward_id IS NOT NULL",
            vec![member.as_str().into()],
        );
        let entries = LedgerRead::add(&mut batch, member, None, recent);
        let results = self.read(batch).await?;
        Ok(CounterView {
            rewards: rewards.read(&results)?,
            redeemed: results
                .rows(redeemed)
                .iter()
                .map(|r| Ok(RewardId::from_trusted(r.try_get::<String, _>(0)?)))
                .collect::<Result<_, StoreError>>()?,
            recent: entries.read(&results)?.entries,
        })
    }
}

/// See [`Store::counter_view`].
#[derive(Debug)]
pub struct CounterView {
    pub rewards: Vec<Reward>,
    pub redeemed: Vec<RewardId>,
    pub recent: Vec<LedgerEntry>,
}
