//! Imports as the console takes them: any CSV a marketer exports from another system, its
//! columns mapped by hand (guessed from their names first), every row checked, problem rows
//! set aside with what is wrong, and the good ones imported. Duplicates inside the file and
//! against the program's members (by email, phone or external id) are problems, which is also
//! why uploading the same file twice creates nobody twice.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

mod target;

pub use target::Target;

use super::{RowError, MAX_ROWS};
use crate::domain::member::{Consent, EnrollInput, NewMember};
use crate::domain::points::Points;
use crate::domain::program::Tiers;

/// A CSV read whole: its headings and rows (row `i` is line `i + 2` of the file).
#[derive(Debug, Clone)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Reads a CSV of any columns: comma, semicolon or tab separated (as spreadsheets in
/// different countries save them), UTF-8 with or without a byte-order mark.
pub fn read_table(bytes: &[u8]) -> Result<Table, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "The file is not UTF-8 text. In your spreadsheet, save it as \"CSV UTF-8\" and upload it again."
            .to_string()
    })?;
    let first = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headings: Vec<String> = reader
        .headers()
        .map_err(|e| format!("The first line (the headings) cannot be read: {e}."))?
        .iter()
        .map(str::to_string)
        .collect();
    if headings.iter().all(|h| h.is_empty()) {
        return Err("The file is empty, or its first line has no headings.".into());
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if rows.len() >= MAX_ROWS {
            return Err(format!(
                "The file has more than {MAX_ROWS} rows; split it and import the parts one after another."
            ));
        }
        let record = record.map_err(|e| format!("Line {} cannot be read: {e}.", i + 2))?;
        if record.iter().all(str::is_empty) {
            rows.push(Vec::new());
            continue;
        }
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Table { headings, rows })
}

/// How the file's columns are read, and the country phone numbers without a `+` are in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub columns: Vec<Target>,
    /// A calling code, digits only (`49`); `None`: numbers must start with `+`.
    pub country: Option<String>,
}

impl Mapping {
    pub fn guessed(table: &Table) -> Mapping {
        let mut seen = HashSet::new();
        let columns = table
            .headings
            .iter()
            .map(|h| {
                let t = Target::guess(h);
                if t != Target::Ignore && !seen.insert(t) {
                    Target::Ignore
                } else {
                    t
                }
            })
            .collect();
        Mapping {
            columns,
            country: None,
        }
    }

    /// What is wrong with the mapping itself, in words.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let has = |t: Target| self.columns.contains(&t);
        if !has(Target::Name) && !has(Target::FirstName) && !has(Target::LastName) {
            problems.push(
                "Choose the column with the members' names (a full name, or first and last names)."
                    .into(),
            );
        }
        for t in Target::ALL.into_iter().filter(|t| *t != Target::Ignore) {
            if self.columns.iter().filter(|c| **c == t).count() > 1 {
                problems.push(format!(
                    "{} is chosen for two columns; choose it once.",
                    t.words()
                ));
            }
        }
        problems
    }
}

/// Who the program has already, to find the file's rows that are members already.
#[derive(Debug, Default)]
pub struct Existing {
    pub emails: HashSet<String>,
    pub phones: HashSet<String>,
    pub external_ids: HashSet<String>,
}

/// A row that can be imported.
#[derive(Debug, Clone)]
pub struct GoodRow {
    pub row: usize,
    pub member: NewMember,
    pub balance: i64,
    pub tier: Option<String>,
}

/// A file checked against the program: what can be imported and every problem row.
#[derive(Debug, Default)]
pub struct Checked {
    pub good: Vec<GoodRow>,
    pub problems: Vec<RowError>,
    /// Rows that were entirely empty (skipped, not problems).
    pub empty: usize,
}

/// A phone number as E.164: `+` numbers as they are, `00` as `+`, and national numbers (a
/// leading 0 dropped) in `country`.
pub fn phone_in(raw: &str, country: Option<&str>) -> String {
    let t = raw.trim();
    if t.starts_with('+') {
        return t.to_string();
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if let Some(rest) = digits.strip_prefix("00") {
        return format!("+{rest}");
    }
    match country {
        Some(cc) if !digits.is_empty() => {
            format!("+{cc}{}", digits.strip_prefix('0').unwrap_or(&digits))
        }
        _ => t.to_string(),
    }
}

fn yes_no(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" | "nein" | "non" | "off" => Some(false),
        "1" | "true" | "yes" | "y" | "ja" | "oui" | "x" | "on" => Some(true),
        _ => None,
    }
}

/// Every row of `table` read through `mapping` and checked.
pub fn check(table: &Table, mapping: &Mapping, tiers: &Tiers, existing: &Existing) -> Checked {
    let mut out = Checked::default();
    let mut seen: HashMap<(Target, String), usize> = HashMap::new();
    let heading = |t: Target| {
        mapping
            .columns
            .iter()
            .position(|c| *c == t)
            .and_then(|i| table.headings.get(i).cloned())
            .unwrap_or_else(|| t.words().to_string())
    };
    for (i, cells) in table.rows.iter().enumerate() {
        let row = i + 2;
        if cells.is_empty() {
            out.empty += 1;
            continue;
        }
        let get = |t: Target| {
            mapping
                .columns
                .iter()
                .position(|c| *c == t)
                .and_then(|i| cells.get(i))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut problem = |t: Target, message: String| {
            problems.push(RowError {
                row,
                field: heading(t),
                message,
            })
        };
        let name = get(Target::Name).unwrap_or_else(|| {
            [get(Target::FirstName), get(Target::LastName)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let mut consent = Consent::default();
        for (t, slot) in [
            (Target::ConsentEmail, &mut consent.email),
            (Target::ConsentSms, &mut consent.sms),
        ] {
            let v = get(t).unwrap_or_default();
            match yes_no(&v) {
                Some(b) => *slot = b,
                None => problem(t, format!("{v:?} is not yes or no.")),
            }
        }
        let tier = get(Target::Tier);
        if let Some(t) = &tier {
            if tiers.by_name(t).is_none() {
                let names = tiers.names();
                problem(
                    Target::Tier,
                    if names.is_empty() {
                        format!("There is no tier {t:?}: the program has no tiers.")
                    } else {
                        format!(
                            "There is no tier {t:?}; the tiers are {}.",
                            names.join(", ")
                        )
                    },
                );
            }
        }
        let balance = match get(Target::Balance) {
            None => 0,
            Some(v) => {
                let digits: String = v
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '.' | ',' | '\''))
                    .collect();
                match digits
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0 && Points::new(*n).is_ok())
                {
                    Some(n) => n,
                    None => {
                        problem(
                            Target::Balance,
                            format!("{v:?} is not a whole number of points."),
                        );
                        0
                    }
                }
            }
        };
        let phone = get(Target::Phone).map(|p| phone_in(&p, mapping.country.as_deref()));
        let input = EnrollInput {
            external_id: get(Target::ExternalId),
            name,
            email: get(Target::Email),
            phone: phone.clone(),
            consent,
        };
        let member = match input.validated() {
            Ok(m) => Some(m),
            Err(e) => {
                let (t, message) = match e.field.as_str() {
                    "email" => (
                        Target::Email,
                        format!(
                            "{:?} is not an email address.",
                            get(Target::Email).unwrap_or_default()
                        ),
                    ),
                    "phone" => (
                        Target::Phone,
                        if mapping.country.is_none()
                            && !phone.as_deref().unwrap_or("").starts_with('+')
                        {
                            format!("{:?} has no country code: choose the country for numbers without +.", get(Target::Phone).unwrap_or_default())
                        } else {
                            format!(
                                "{:?} is not a phone number.",
                                get(Target::Phone).unwrap_or_default()
                            )
                        },
                    ),
                    "name" => (Target::Name, "The name is missing.".to_string()),
                    "external_id" => (Target::ExternalId, format!("{}.", e)),
                    _ => (Target::Name, e.to_string()),
                };
                problem(t, message);
                None
            }
        };
        if let Some(m) = &member {
            let keys = [
                (
                    Target::Email,
                    m.email.as_ref().map(|e| e.as_str().to_lowercase()),
                    &existing.emails,
                ),
                (
                    Target::Phone,
                    m.phone.as_ref().map(|p| p.as_str().to_string()),
                    &existing.phones,
                ),
                (
                    Target::ExternalId,
                    m.external_id.clone(),
                    &existing.external_ids,
                ),
            ];
            for (t, key, already) in keys {
                let Some(key) = key else { continue };
                if already.contains(&key) {
                    problem(
                        t,
                        format!("{key} is a member already; the row is left out."),
                    );
                } else if let Some(first) = seen.get(&(t, key.clone())) {
                    problem(t, format!("{key} is also on row {first}."));
                }
            }
        }
        if problems.is_empty() {
            if let Some(m) = member {
                for (t, key) in [
                    (
                        Target::Email,
                        m.email.as_ref().map(|e| e.as_str().to_lowercase()),
                    ),
                    (
                        Target::Phone,
                        m.phone.as_ref().map(|p| p.as_str().to_string()),
                    ),
                    (Target::ExternalId, m.external_id.clone()),
                ] {
                    if let Some(key) = key {
                        seen.insert((t, key), row);
                    }
                }
                out.good.push(GoodRow {
                    row,
                    member: m,
                    balance,
                    tier,
                });
            }
        } else {
            out.problems.extend(problems);
        }
    }
    out
}

#[cfg(test)]
mod tests;
