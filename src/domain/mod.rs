//! Domain types: programs, members, the points ledger, API keys and webhooks. Every value
//! that comes from outside is parsed once into one of these types; code past the edge trusts
//! them.

pub mod api_key;
pub mod apple_ids;
pub mod campaign;
pub mod card_event;
pub mod color;
pub mod contact;
pub mod device;
pub mod distribution;
pub mod events;
pub mod expiry;
pub mod ids;
pub mod import;
pub mod job;
pub mod language;
pub mod ledger;
pub mod member;
pub mod points;
pub mod program;
pub mod reward;
pub mod scan;
pub mod search;
pub mod sms;
pub mod urls;
pub mod user;
pub mod webhook;

/// A value that failed to parse, with the field it came from, for a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same problem, seen from a containing field (`tiers[2]` + `name`).
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Checks a free-text field: trimmed, not empty, at most `max` characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_trims_and_limits() {
        assert_eq!(text("name", "  Ada  ", 10).unwrap(), "Ada");
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", "abcdefghijk", 10).is_err());
        assert!(text("name", "a\u{7}b", 10).is_err());
        assert_eq!(
            Invalid::new("name", "x").within("tiers[1]").field,
            "tiers[1].name"
        );
        assert_eq!(Invalid::new("[1]", "x").within("tiers").field, "tiers[1]");
    }
}
