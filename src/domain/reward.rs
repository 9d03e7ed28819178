//! Rewards in a program's catalogue.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ids::{ProgramId, RewardId};
use super::points::Points;
use super::{text, Invalid};
use crate::clock::Random;

#[derive(Debug, Clone)]
pub struct Reward {
    pub id: RewardId,
    pub program_id: ProgramId,
    pub name: String,
    pub cost: Points,
    /// A single-use reward can be redeemed once per member; a repeatable one any number of times.
    pub repeatable: bool,
    pub active: bool,
    pub created_at: OffsetDateTime,
}

impl Reward {
    /// A new reward of `program` from a checked spec.
    pub fn create(
        program: &ProgramId,
        spec: RewardSpec,
        rng: &dyn Random,
        now: OffsetDateTime,
    ) -> Reward {
        Reward {
            id: RewardId::generate(rng),
            program_id: program.clone(),
            name: spec.name,
            cost: spec.cost,
            repeatable: spec.repeatable,
            active: spec.active,
            created_at: now,
        }
    }
}

/// What a marketer sends to create or change a reward.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardInput {
    #[schema(min_length = 1, max_length = 80)]
    pub name: String,
    /// Points.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub cost: i64,
    #[serde(default)]
    #[schema(default = false)]
    pub repeatable: bool,
    /// Set to false to retire the reward.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone)]
pub struct RewardSpec {
    pub name: String,
    pub cost: Points,
    pub repeatable: bool,
    pub active: bool,
}

impl RewardInput {
    pub fn validated(self) -> Result<RewardSpec, Invalid> {
        Ok(RewardSpec {
            name: text("name", &self.name, 80)?,
            cost: Points::positive(self.cost).map_err(|e| Invalid::new("cost", e.message))?,
            repeatable: self.repeatable,
            active: self.active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_costs_are_positive() {
        let ok: RewardInput = serde_json::from_str(r#"{"name":"Free coffee","cost":100}"#).unwrap();
        let spec = ok.validated().unwrap();
        assert!(spec.active && !spec.repeatable);
        let zero: RewardInput = serde_json::from_str(r#"{"name":"x","cost":0}"#).unwrap();
        assert_eq!(zero.validated().unwrap_err().field, "cost");
        assert!(serde_json::from_str::<RewardInput>(r#"{"name":"x","cost":1,"price":2}"#).is_err());
    }
}
