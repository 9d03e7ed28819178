//! A program's tiers: names, the lifetime points that reach each, and what each changes on
//! the card; and whether a member's tier moves.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::domain::color::Rgb;
use crate::domain::points::Points;
use crate::domain::{text, Invalid};

/// Colour and text overrides a tier brings to the card. Absent keys are `null` (no override).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TierDesign {
    pub background_color: Option<Rgb>,
    pub foreground_color: Option<Rgb>,
    pub label_color: Option<Rgb>,
    #[schema(max_length = 40)]
    pub logo_text: Option<String>,
}

/// A tier. Names are unique (case-insensitively) and so are thresholds; programs answer their
/// tiers sorted by threshold. `design` is left out of answers when the tier has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// Lifetime points at which a member reaches this tier.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub threshold: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<TierDesign>,
}

/// A member's tier before and after a change that moved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierMove {
    pub previous: Option<String>,
    pub tier: Option<String>,
}

/// Tiers sorted by threshold, names and thresholds unique.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tiers(Vec<Tier>);

impl Tiers {
    pub fn validated(mut tiers: Vec<Tier>) -> Result<Tiers, Invalid> {
        if tiers.len() > 10 {
            return Err(Invalid::new("tiers", "at most 10 tiers"));
        }
        let mut names = BTreeSet::new();
        let mut thresholds = BTreeSet::new();
        for (i, t) in tiers.iter_mut().enumerate() {
            let at = |e: Invalid| e.within(&format!("tiers[{i}]"));
            t.name = text("name", &t.name, 40).map_err(at)?;
            if t.threshold < 0 {
                return Err(at(Invalid::new("threshold", "must not be negative")));
            }
            Points::new(t.threshold).map_err(|e| at(Invalid::new("threshold", e.message)))?;
            if !names.insert(t.name.to_lowercase()) {
                return Err(at(Invalid::new(
                    "name",
                    format!("{:?} is used twice", t.name),
                )));
            }
            if !thresholds.insert(t.threshold) {
                return Err(at(Invalid::new(
                    "threshold",
                    "two tiers share this threshold",
                )));
            }
            if let Some(d) = &mut t.design {
                if let Some(lt) = &d.logo_text {
                    d.logo_text = Some(text("design.logo_text", lt, 40).map_err(at)?);
                }
            }
        }
        tiers.sort_by_key(|t| t.threshold);
        Ok(Tiers(tiers))
    }

    pub fn as_slice(&self) -> &[Tier] {
        &self.0
    }

    /// Where `lifetime` points put a member now in `tier`: `None` when they stay.
    pub fn move_for(&self, tier: Option<&str>, lifetime: i64) -> Option<TierMove> {
        let now = self.tier_for(lifetime).map(|t| t.name.as_str());
        (now != tier).then(|| TierMove {
            previous: tier.map(str::to_string),
            tier: now.map(str::to_string),
        })
    }

    /// The highest tier whose threshold `lifetime` reaches.
    pub fn tier_for(&self, lifetime: i64) -> Option<&Tier> {
        self.0.iter().rev().find(|t| lifetime >= t.threshold)
    }

    /// The next tier above `lifetime`, if any.
    pub fn next_after(&self, lifetime: i64) -> Option<&Tier> {
        self.0.iter().find(|t| t.threshold > lifetime)
    }

    /// The tiers' names, lowest first.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|t| t.name.as_str()).collect()
    }

    pub fn by_name(&self, name: &str) -> Option<&Tier> {
        self.0.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(name: &str, threshold: i64) -> Tier {
        Tier {
            name: name.into(),
            threshold,
            design: None,
        }
    }

    #[test]
    fn tiers_sorted_and_looked_up() {
        let tiers = Tiers::validated(vec![
            tier("Gold", 1000),
            tier("Bronze", 0),
            tier("Silver", 300),
        ])
        .unwrap();
        assert_eq!(tiers.tier_for(0).unwrap().name, "Bronze");
        assert_eq!(tiers.tier_for(999).unwrap().name, "Silver");
        assert_eq!(tiers.tier_for(1000).unwrap().name, "Gold");
        assert_eq!(tiers.next_after(300).unwrap().name, "Gold");
        assert!(tiers.next_after(1000).is_none());
        assert!(Tiers::validated(vec![tier("A", 0), tier("a", 10)]).is_err());
        assert!(Tiers::validated(vec![tier("A", 10), tier("B", 10)]).is_err());
        let err = Tiers::validated(vec![tier("A", 0), tier("B", -1)]).unwrap_err();
        assert_eq!(err.field, "tiers[1].threshold");
    }

    #[test]
    fn a_tier_moves_only_when_the_lifetime_points_cross_a_threshold() {
        let tiers = Tiers::validated(vec![tier("Bronze", 0), tier("Gold", 1000)]).unwrap();
        assert_eq!(tiers.move_for(Some("Bronze"), 999), None);
        assert_eq!(
            tiers.move_for(Some("Bronze"), 1000),
            Some(TierMove {
                previous: Some("Bronze".into()),
                tier: Some("Gold".into()),
            })
        );
        assert_eq!(
            tiers.move_for(None, 0),
            Some(TierMove {
                previous: None,
                tier: Some("Bronze".into()),
            })
        );
        assert_eq!(Tiers::default().move_for(None, 5000), None);
    }
}
