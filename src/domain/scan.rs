//! Scans at the counter: where they happen (locations), what staff did after reading a card
//! (the action), and how it ended (accepted, or rejected and why). Every scan is recorded,
//! rejected ones included.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ids::{ApiKeyId, LocationId, MemberId, ProgramId, RewardId};
use super::{text, Invalid};
use crate::clock::Random;

#[derive(Debug, Clone)]
pub struct Location {
    pub id: LocationId,
    pub program_id: ProgramId,
    pub name: String,
    pub address: Option<String>,
    pub created_at: OffsetDateTime,
}

/// What a marketer sends to create a location.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    /// Unique within the program.
    #[schema(min_length = 1, max_length = 80)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

impl LocationInput {
    pub fn into_location(
        self,
        program: &ProgramId,
        rng: &dyn Random,
        now: OffsetDateTime,
    ) -> Result<Location, Invalid> {
        Ok(Location {
            id: LocationId::generate(rng),
            program_id: program.clone(),
            name: text("name", &self.name, 80)?,
            address: self
                .address
                .as_deref()
                .map(|a| text("address", a, 200))
                .transpose()?,
            created_at: now,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanAction {
    /// Read the card and show the member: changes nothing.
    Lookup,
    /// The customer came in; no purchase amount.
    Visit,
    /// A purchase: points through the program's earn rules.
    Purchase,
    /// Spend points on a reward.
    Redeem,
}

impl ScanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanAction::Lookup => "lookup",
            ScanAction::Visit => "visit",
            ScanAction::Purchase => "purchase",
            ScanAction::Redeem => "redeem",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "lookup" => Ok(ScanAction::Lookup),
            "visit" => Ok(ScanAction::Visit),
            "purchase" => Ok(ScanAction::Purchase),
            "redeem" => Ok(ScanAction::Redeem),
            _ => Err(Invalid::new(
                "action",
                "must be lookup, visit, purchase or redeem",
            )),
        }
    }

    /// Actions that change something, and so need an idempotency key.
    pub fn changes_anything(self) -> bool {
        !matches!(self, ScanAction::Lookup)
    }
}

/// Why a scan was refused. The first six refuse the card (422 `scan_rejected`); the others
/// refuse the action on a good card (409 with the reason as code; `unknown_reward` is a 404).
/// Stored with the scan and answered to the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not a passwright card code at all.
    Malformed,
    /// Shaped like a card code, but the MAC does not match: altered or made up.
    Forged,
    /// A valid code for a card this database does not hold.
    UnknownCard,
    Voided,
    /// The card was re-issued; this is an old code.
    Superseded,
    /// The scanning key is limited to another program.
    OtherProgram,
    InsufficientPoints,
    RewardAlreadyRedeemed,
    RewardInactive,
    UnknownReward,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::Forged => "forged",
            RejectReason::UnknownCard => "unknown_card",
            RejectReason::Voided => "voided",
            RejectReason::Superseded => "superseded",
            RejectReason::OtherProgram => "other_program",
            RejectReason::InsufficientPoints => "insufficient_points",
            RejectReason::RewardAlreadyRedeemed => "reward_already_redeemed",
            RejectReason::RewardInactive => "reward_inactive",
            RejectReason::UnknownReward => "unknown_reward",
        }
    }

    /// What the person at the till reads.
    pub fn message(self) -> &'static str {
        match self {
            RejectReason::Malformed => "This is not a card code from this loyalty program.",
            RejectReason::Forged => "This card code has been altered or is not genuine.",
            RejectReason::UnknownCard => "No card with this code exists.",
            RejectReason::Voided => "This card has been cancelled.",
            RejectReason::Superseded => {
                "This card has been replaced; ask the customer for their current card."
            }
            RejectReason::OtherProgram => "This card belongs to a program this key cannot use.",
            RejectReason::InsufficientPoints => "Not enough points for this reward.",
            RejectReason::RewardAlreadyRedeemed => {
                "This reward can be redeemed once and has already been redeemed."
            }
            RejectReason::RewardInactive => "This reward is not available any more.",
            RejectReason::UnknownReward => "No such reward in this program.",
        }
    }

    /// True when the card itself was refused (as opposed to the action on a good card).
    pub fn refuses_card(self) -> bool {
        matches!(
            self,
            RejectReason::Malformed
                | RejectReason::Forged
                | RejectReason::UnknownCard
                | RejectReason::Voided
                | RejectReason::Superseded
                | RejectReason::OtherProgram
        )
    }
}

/// One stored scan.
#[derive(Debug, Clone)]
pub struct Scan {
    pub id: i64,
    pub program_id: Option<ProgramId>,
    pub member_id: Option<MemberId>,
    pub staff_key_id: ApiKeyId,
    pub staff_name: String,
    pub location_id: Option<LocationId>,
    pub action: ScanAction,
    /// `None` when accepted.
    pub rejected: Option<String>,
    pub amount_minor: Option<i64>,
    pub points: i64,
    pub reward_id: Option<RewardId>,
    pub ledger_entry_id: Option<i64>,
    pub created_at: OffsetDateTime,
}

impl Scan {
    pub fn result(&self) -> &'static str {
        if self.rejected.is_some() {
            "rejected"
        } else {
            "accepted"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn actions_and_reasons() {
        for a in [
            ScanAction::Lookup,
            ScanAction::Visit,
            ScanAction::Purchase,
            ScanAction::Redeem,
        ] {
            assert_eq!(ScanAction::parse(a.as_str()).unwrap(), a);
        }
        assert!(ScanAction::parse("refund").is_err());
        assert!(!ScanAction::Lookup.changes_anything());
        assert!(RejectReason::Forged.refuses_card());
        assert!(!RejectReason::InsufficientPoints.refuses_card());
        assert_eq!(
            serde_json::to_value(RejectReason::UnknownCard).unwrap(),
            "unknown_card"
        );
    }

    #[test]
    fn locations_are_checked() {
        let program = ProgramId::generate(&OsRandom);
        let now = crate::clock::system_now();
        let ok = LocationInput {
            name: " Main St ".into(),
            address: Some("1 Main St".into()),
        }
        .into_location(&program, &OsRandom, now)
        .unwrap();
        assert_eq!(ok.name, "Main St");
        let bad = LocationInput {
            name: "".into(),
            address: None,
        };
        assert_eq!(
            bad.into_location(&program, &OsRandom, now)
                .unwrap_err()
                .field,
            "name"
        );
    }
}
