//! A program's rewards catalogue.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::ids::{ProgramId, RewardId};
use crate::domain::points::Points;
use crate::domain::reward::{Reward, RewardSpec};
use crate::storage::batch::{Batch, Results, Step};
use crate::storage::{flag, Store, StoreError};

#[derive(FromRow)]
struct RewardRow {
    id: String,
    program_id: String,
    name: String,
    cost: i64,
    repeatable: i64,
    active: i64,
    created_at: i64,
}

impl TryFrom<RewardRow> for Reward {
    type Error = StoreError;

    fn try_from(r: RewardRow) -> Result<Self, StoreError> {
        Ok(Reward {
            cost: Points::positive(r.cost)
                .map_err(|_| anyhow::anyhow!("reward {} has an invalid cost", r.id))?,
            id: RewardId::from_trusted(r.id),
            program_id: ProgramId::from_trusted(r.program_id),
            name: r.name,
            repeatable: r.repeatable != 0,
            active: r.active != 0,
            created_at: from_micros(r.created_at),
        })
    }
}

const REWARD_COLUMNS: &str = "id, program_id, name, cost, repeatable, active, created_at";

/// A program's rewards, cheapest first, read as a step of a [`Batch`]: [`RewardsRead::add`]
/// puts the statement in, [`RewardsRead::read`] takes its rows.
pub(in crate::storage) struct RewardsRead(Step);

impl RewardsRead {
    pub fn add(batch: &mut Batch, program: &ProgramId) -> RewardsRead {
        RewardsRead(batch.push(
            format!(
                "SELECT {REWARD_COLUMNS} FROM rewards WHERE program_id = $1 ORDER BY cost, created_at, id"
            ),
            vec![program.as_str().into()],
        ))
    }

    pub fn read(&self, results: &Results) -> Result<Vec<Reward>, StoreError> {
        results
            .rows(self.0)
            .iter()
            .map(|r| Reward::try_from(RewardRow::from_row(r)?))
            .collect()
    }
}

impl Store {
    #[tracing::instrument(name = "store.insert_reward", skip_all)]
    pub async fn insert_reward(&self, r: &Reward) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rewards (id, program_id, name, cost, repeatable, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(r.id.as_str())
        .bind(r.program_id.as_str())
        .bind(&r.name)
        .bind(r.cost.value())
        .bind(flag(r.repeatable))
        .bind(flag(r.active))
        .bind(to_micros(r.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn rewards(&self, program: &ProgramId) -> Result<Vec<Reward>, StoreError> {
        let mut batch = Batch::new();
        let rewards = RewardsRead::add(&mut batch, program);
        let results = self.read(batch).await?;
        rewards.read(&results)
    }

    pub async fn reward(&self, program: &ProgramId, id: &RewardId) -> Result<Reward, StoreError> {
        let row: RewardRow = sqlx::query_as(&format!(
            "SELECT {REWARD_COLUMNS} FROM rewards WHERE program_id = $1 AND id = $2"
        ))
        .bind(program.as_str())
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    #[tracing::instrument(name = "store.update_reward", skip_all)]
    pub async fn update_reward(
        &self,
        program: &ProgramId,
        id: &RewardId,
        spec: &RewardSpec,
        now: OffsetDateTime,
    ) -> Result<Reward, StoreError> {
        let done = sqlx::query(
            "UPDATE rewards SET name = $3, cost = $4, repeatable = $5, active = $6, updated_at = $7 \
             WHERE program_id = $1 AND id = $2",
        )
        .bind(program.as_str())
        .bind(id.as_str())
        .bind(&spec.name)
        .bind(spec.cost.value())
        .bind(flag(spec.repeatable))
        .bind(flag(spec.active))
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.reward(program, id).await
    }
}
