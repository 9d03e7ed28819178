//! The rules page's forms, both ways: a program's earn rules, tiers, expiry and rewards as the
//! forms' values, and the values sent back as the domain's types, with problems in words
//! (never a pattern or a field path) and nothing typed lost.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::expiry::ExpiryPolicy;
use crate::domain::points::{Points, Rate};
use crate::domain::program::{product_type, EarnRules, Tier, Tiers};
use crate::domain::reward::RewardSpec;
use crate::domain::text;

/// Empty rows offered below the filled ones.
const SPARE_ROWS: usize = 2;

fn one(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn present(pairs: &[(String, String)], name: &str) -> bool {
    pairs.iter().any(|(k, _)| k == name)
}

/// `name.<n>` values by row number.
fn rows(pairs: &[(String, String)], names: [&str; 2]) -> BTreeMap<usize, [String; 2]> {
    let mut rows: BTreeMap<usize, [String; 2]> = BTreeMap::new();
    for (k, v) in pairs {
        for (i, name) in names.iter().enumerate() {
            if let Some(n) = k
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|n| n.parse().ok())
            {
                rows.entry(n).or_default()[i] = v.clone();
            }
        }
    }
    rows
}

/// A decimal as people type it: `1,5` or `1.5`.
fn decimal(s: &str) -> String {
    s.trim().replace(',', ".")
}

/// A whole number as people type it: `1 000`, `1.000` or `1,000` for a thousand.
fn whole(s: &str) -> Option<i64> {
    let digits: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.' | ',' | '\''))
        .collect();
    digits.parse().ok()
}

/// How purchases earn points, as the form shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EarnRows {
    pub points_per_unit: String,
    /// (product type, multiplier), then spare rows.
    pub multipliers: Vec<(String, String)>,
}

impl EarnRows {
    pub fn of(rules: &EarnRules) -> EarnRows {
        let mut multipliers: Vec<(String, String)> = rules
            .multipliers
            .iter()
            .map(|(p, r)| (p.clone(), rate_text(*r)))
            .collect();
        multipliers.extend((0..SPARE_ROWS).map(|_| Default::default()));
        EarnRows {
            points_per_unit: rate_text(rules.points_per_unit),
            multipliers,
        }
    }

    pub fn sent(pairs: &[(String, String)]) -> EarnRows {
        EarnRows {
            points_per_unit: one(pairs, "points_per_unit"),
            multipliers: rows(pairs, ["product", "multiplier"])
                .into_values()
                .map(|[p, m]| (p, m))
                .collect(),
        }
    }

    pub fn parse(&self) -> Result<EarnRules, Vec<String>> {
        let mut problems = Vec::new();
        let per_unit = Rate::parse(&decimal(&self.points_per_unit)).unwrap_or_else(|_| {
            problems.push(format!(
                "Points per unit spent: {:?} is not a number. Type it like 1 or 2.5.",
                self.points_per_unit
            ));
            Rate::one()
        });
        let mut multipliers = BTreeMap::new();
        for (product, multiplier) in &self.multipliers {
            let (product, multiplier) = (product.trim(), multiplier.trim());
            if product.is_empty() && multiplier.is_empty() {
                continue;
            }
            let slug = slug(product);
            match product_type(&slug) {
                Ok(_) if !product.is_empty() => {}
                _ => {
                    problems.push(format!(
                        "{product:?} cannot be a product type: use up to 40 letters, digits, spaces or dashes, like \"hot drinks\"."
                    ));
                    continue;
                }
            }
            match Rate::parse(&decimal(multiplier)) {
                Ok(rate) if !rate.is_zero() => {
                    if multipliers.insert(slug.clone(), rate).is_some() {
                        problems.push(format!("{slug} is listed twice; keep one row for it."));
                    }
                }
                _ => problems.push(format!(
                    "The multiplier for {slug} must be a number above 0, like 2 or 1.5."
                )),
            }
        }
        let rules = EarnRules {
            points_per_unit: per_unit,
            multipliers,
        };
        if problems.is_empty() {
            rules.validated().map_err(|e| vec![e.to_string()])
        } else {
            Err(problems)
        }
    }
}

/// `Hot drinks` -> `hot-drinks`: product types as the scanner and the API name them.
pub fn slug(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
}

fn rate_text(r: Rate) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The tiers as the form shows them: (name, points ever earned that reach it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TierRows {
    pub rows: Vec<(String, String)>,
}

impl TierRows {
    pub fn of(tiers: &Tiers) -> TierRows {
        let mut rows: Vec<(String, String)> = tiers
            .as_slice()
            .iter()
            .map(|t| (t.name.clone(), t.threshold.to_string()))
            .collect();
        rows.extend((0..SPARE_ROWS).map(|_| Default::default()));
        TierRows { rows }
    }

    pub fn sent(pairs: &[(String, String)]) -> TierRows {
        TierRows {
            rows: rows(pairs, ["tier_name", "tier_threshold"])
                .into_values()
                .map(|[n, t]| (n, t))
                .collect(),
        }
    }

    /// The tiers, each keeping the look it had (by name) in `current`.
    pub fn parse(&self, current: &Tiers) -> Result<Tiers, Vec<String>> {
        let mut problems = Vec::new();
        let mut tiers = Vec::new();
        for (name, threshold) in &self.rows {
            let (name, threshold) = (name.trim(), threshold.trim());
            if name.is_empty() && threshold.is_empty() {
                continue;
            }
            let Ok(name) = text("name", name, 40) else {
                problems.push(format!(
                    "The tier at {threshold} points needs a name (up to 40 characters)."
                ));
                continue;
            };
            let Some(threshold) = whole(threshold).filter(|t| *t >= 0) else {
                problems.push(format!(
                    "{name}: type the points ever earned that reach it as a whole number, like 500 (0 for the first tier)."
                ));
                continue;
            };
            if tiers
                .iter()
                .any(|t: &Tier| t.name.eq_ignore_ascii_case(&name))
            {
                problems.push(format!("There are two tiers called {name}."));
                continue;
            }
            if let Some(other) = tiers.iter().find(|t: &&Tier| t.threshold == threshold) {
                problems.push(format!(
                    "{name} and {} both start at {threshold} points; give each its own.",
                    other.name
                ));
                continue;
            }
            let design = current.by_name(&name).and_then(|t| t.design.clone());
            tiers.push(Tier {
                name,
                threshold,
                design,
            });
        }
        if tiers.len() > 10 {
            problems.push("A program has at most 10 tiers.".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Tiers::validated(tiers).map_err(|e| vec![e.to_string()])
    }
}

/// Points expiry as the form shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExpiryRows {
    pub expires: bool,
    pub months: String,
    pub reminder_days: String,
}

impl ExpiryRows {
    pub fn of(policy: Option<&ExpiryPolicy>) -> ExpiryRows {
        ExpiryRows {
            expires: policy.is_some(),
            months: policy.map_or("12".into(), |p| p.months.to_string()),
            reminder_days: policy.map_or("14".into(), |p| p.reminder_days.to_string()),
        }
    }

    pub fn sent(pairs: &[(String, String)]) -> ExpiryRows {
        ExpiryRows {
            expires: present(pairs, "expires"),
            months: one(pairs, "months"),
            reminder_days: one(pairs, "reminder_days"),
        }
    }

    pub fn parse(&self) -> Result<Option<ExpiryPolicy>, Vec<String>> {
        if !self.expires {
            return Ok(None);
        }
        let mut problems = Vec::new();
        let months = whole(&self.months).filter(|m| (1..=120).contains(m));
        if months.is_none() {
            problems.push("Points expire after 1 to 120 months; type a whole number.".into());
        }
        let days = if self.reminder_days.trim().is_empty() {
            Some(0)
        } else {
            whole(&self.reminder_days).filter(|d| (0..=90).contains(d))
        };
        if days.is_none() {
            problems.push(
                "The reminder goes 0 to 90 days before points expire; type a whole number.".into(),
            );
        }
        match (months, days) {
            (Some(months), Some(days)) if problems.is_empty() => ExpiryPolicy {
                months: months as u32,
                reminder_days: days as u32,
            }
            .validated()
            .map(Some)
            .map_err(|e| vec![e.to_string()]),
            _ => Err(problems),
        }
    }
}

/// A reward as its form shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RewardRow {
    pub name: String,
    pub cost: String,
    pub repeatable: bool,
    pub active: bool,
}

impl Default for RewardRow {
    fn default() -> Self {
        RewardRow {
            name: String::new(),
            cost: String::new(),
            repeatable: false,
            active: true,
        }
    }
}

impl RewardRow {
    pub fn sent(pairs: &[(String, String)]) -> RewardRow {
        RewardRow {
            name: one(pairs, "name"),
            cost: one(pairs, "cost"),
            repeatable: present(pairs, "repeatable"),
            // The add form has no box: a new reward is offered.
            active: present(pairs, "active") || !present(pairs, "has_active"),
        }
    }

    pub fn parse(&self) -> Result<RewardSpec, Vec<String>> {
        let mut problems = Vec::new();
        let name = text("name", &self.name, 80).unwrap_or_else(|_| {
            problems.push("Give the reward a name (up to 80 characters), like Free coffee.".into());
            String::new()
        });
        let cost = whole(&self.cost)
            .and_then(|c| Points::positive(c).ok())
            .unwrap_or_else(|| {
                problems.push(format!(
                    "{}: the cost is a whole number of points above 0, like 100.",
                    if name.is_empty() { "The reward" } else { &name }
                ));
                Points::zero()
            });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RewardSpec {
            name,
            cost,
            repeatable: self.repeatable,
            active: self.active,
        })
    }
}

#[cfg(test)]
mod tests;
