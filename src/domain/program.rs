//! A loyalty program: its card design, tiers and earn rules. Designs, tiers and earn rules
//! arrive as JSON; `validated` turns the raw shape into the checked one the rest of the
//! code relies on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::apple_ids::{PassTypeId, TeamId};
use super::ids::ProgramId;
use super::points::{points_for, Amount, Points, Rate};
use super::Invalid;

mod design;
mod tiers;

pub use design::{BackField, CardBarcode, Colors, Design, FieldKind, Layout};
pub use tiers::{Tier, TierDesign, TierMove, Tiers};

#[derive(Debug, Clone)]
pub struct Program {
    pub id: ProgramId,
    pub name: String,
    pub organization: String,
    pub pass_type_id: PassTypeId,
    pub team_id: TeamId,
    pub design: Design,
    pub tiers: Tiers,
    pub earn_rules: EarnRules,
    /// Bumps whenever anything that changes how every card looks changes (design, tiers,
    /// images, names). Part of each pass's cache key.
    pub design_version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Last-Modified of every card for what the program contributes (whole seconds).
    pub pass_modified: OffsetDateTime,
    /// When points expire, if they do.
    pub expiry: Option<super::expiry::ExpiryPolicy>,
}

impl Program {
    /// A new program with the default design, no tiers and one point per unit spent.
    pub fn new(
        id: ProgramId,
        name: String,
        organization: String,
        (pass_type_id, team_id): (PassTypeId, TeamId),
        now: OffsetDateTime,
    ) -> Program {
        Program {
            id,
            name,
            organization,
            pass_type_id,
            team_id,
            design: Design::default(),
            tiers: Tiers::default(),
            earn_rules: EarnRules::default(),
            design_version: 1,
            created_at: now,
            updated_at: now,
            pass_modified: crate::clock::whole_seconds(now),
            expiry: None,
        }
    }
}

/// How purchases turn into points: amount x `points_per_unit` x the highest multiplier among
/// the purchase's product types (1 when none has a rule), rounded down. Absent keys take their
/// defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EarnRules {
    /// Points per currency unit spent (default `"1"`).
    pub points_per_unit: Rate,
    /// Multipliers by product type, e.g. `{"coffee": 2}`; at most 100.
    #[schema(schema_with = multipliers_schema)]
    pub multipliers: BTreeMap<String, Rate>,
}

fn multipliers_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    use utoipa::ToSchema;
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Multipliers by product type, e.g. `{\"coffee\": 2}`; at most 100.",
        ))
        .max_properties(Some(100))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[a-z0-9_-]{1,40}$")),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(
            utoipa::openapi::Ref::from_schema_name(Rate::name()).into(),
        )))
        .default(Some(serde_json::json!({})))
        .build()
}

impl Default for EarnRules {
    fn default() -> Self {
        EarnRules {
            points_per_unit: Rate::one(),
            multipliers: BTreeMap::new(),
        }
    }
}

impl EarnRules {
    pub fn validated(self) -> Result<EarnRules, Invalid> {
        if self.multipliers.len() > 100 {
            return Err(Invalid::new("multipliers", "at most 100 product types"));
        }
        for product in self.multipliers.keys() {
            product_type(product).map_err(|e| e.within("multipliers"))?;
        }
        Ok(self)
    }

    /// Points for a purchase: the amount at the base rate times the highest multiplier among
    /// the purchase's product types (product types without a rule count as 1).
    pub fn points_for_purchase(
        &self,
        amount: Amount,
        product_types: &[String],
    ) -> Result<Points, Invalid> {
        let multiplier = product_types
            .iter()
            .filter_map(|p| self.multipliers.get(p).copied())
            .max()
            .unwrap_or(Rate::one());
        points_for(amount, self.points_per_unit, multiplier)
    }
}

/// A product type slug. Product types travel as strings (checked by [`product_type`]); this
/// names their schema.
pub struct ProductType;

impl utoipa::PartialSchema for ProductType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A product type slug."))
            .pattern(Some("^[a-z0-9_-]{1,40}$"))
            .examples(["coffee", "hot-drinks", "bakery_2"])
            .into()
    }
}

impl utoipa::ToSchema for ProductType {}

/// Product types are lower-case slugs: `coffee`, `hot-drinks`, `bakery_2`.
pub fn product_type(s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(
            "product_type",
            format!("{s:?} must be 1 to 40 of a-z, 0-9, - and _"),
        ))
    }
}

/// A program for unit tests elsewhere: Bean There, tiers Bronze (0) and Gold (500).
#[cfg(test)]
pub(crate) fn sample() -> Program {
    let now = crate::clock::system_now();
    let tier = |name: &str, threshold| Tier {
        name: name.into(),
        threshold,
        design: None,
    };
    Program {
        id: ProgramId::generate(&crate::clock::OsRandom),
        name: "Bean There".into(),
        organization: "Bean There Coffee".into(),
        pass_type_id: PassTypeId::parse("pass.com.example.beans").unwrap(),
        team_id: TeamId::parse("ABCDE12345").unwrap(),
        design: Design::default().validated().unwrap(),
        tiers: Tiers::validated(vec![tier("Bronze", 0), tier("Gold", 500)]).unwrap(),
        earn_rules: EarnRules::default(),
        design_version: 1,
        created_at: now,
        updated_at: now,
        pass_modified: now,
        expiry: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earn_rules_use_highest_multiplier() {
        let rules: EarnRules = serde_json::from_str(
            r#"{"points_per_unit":"1","multipliers":{"coffee":2,"cake":"1.5"}}"#,
        )
        .unwrap();
        let rules = rules.validated().unwrap();
        let amount = Amount::parse("10").unwrap();
        let p = |types: &[&str]| {
            let types: Vec<String> = types.iter().map(|s| s.to_string()).collect();
            rules.points_for_purchase(amount, &types).unwrap().value()
        };
        assert_eq!(p(&[]), 10);
        assert_eq!(p(&["tea"]), 10);
        assert_eq!(p(&["cake"]), 15);
        assert_eq!(p(&["cake", "coffee"]), 20);
        let bad: EarnRules = serde_json::from_str(r#"{"multipliers":{"Coffee":2}}"#).unwrap();
        assert!(bad.validated().is_err());
    }
}
