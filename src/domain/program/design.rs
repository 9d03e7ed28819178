//! A program's card design: colours, which field shows what where, labels, change messages,
//! back fields and languages. Arrives as JSON; `Design::validated` checks it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::color::Rgb;
use crate::domain::language::Language;
use crate::domain::{text, Invalid};

/// What a card field shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Points,
    Tier,
    Name,
    MemberNumber,
    LifetimePoints,
    MemberSince,
    NextTier,
    /// Points about to expire and when; shown only while there are some (on the back of the
    /// card unless the layout places it).
    ExpiringPoints,
}

impl FieldKind {
    pub const ALL: [FieldKind; 8] = [
        FieldKind::Points,
        FieldKind::Tier,
        FieldKind::Name,
        FieldKind::MemberNumber,
        FieldKind::LifetimePoints,
        FieldKind::MemberSince,
        FieldKind::NextTier,
        FieldKind::ExpiringPoints,
    ];

    /// The pass.json field key.
    pub fn key(self) -> &'static str {
        match self {
            FieldKind::Points => "points",
            FieldKind::Tier => "tier",
            FieldKind::Name => "name",
            FieldKind::MemberNumber => "member_number",
            FieldKind::LifetimePoints => "lifetime_points",
            FieldKind::MemberSince => "member_since",
            FieldKind::NextTier => "next_tier",
            FieldKind::ExpiringPoints => "expiring_points",
        }
    }

    pub fn default_label(self) -> &'static str {
        match self {
            FieldKind::Points => "Points",
            FieldKind::Tier => "Tier",
            FieldKind::Name => "Member",
            FieldKind::MemberNumber => "Member number",
            FieldKind::LifetimePoints => "Lifetime points",
            FieldKind::MemberSince => "Member since",
            FieldKind::NextTier => "Next tier",
            FieldKind::ExpiringPoints => "Points expiring",
        }
    }

    /// Fields whose changes notify on the lock screen, and the default message.
    pub fn default_change_message(self) -> Option<&'static str> {
        match self {
            FieldKind::Points => Some("You now have %@ points"),
            FieldKind::Tier => Some("You are now %@"),
            FieldKind::ExpiringPoints => Some("Points expiring: %@"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Colors {
    pub background: Rgb,
    pub foreground: Rgb,
    pub label: Rgb,
}

impl Default for Colors {
    fn default() -> Self {
        Colors {
            background: Rgb(33, 37, 41),
            foreground: Rgb(255, 255, 255),
            label: Rgb(173, 181, 189),
        }
    }
}

/// Where each field goes on the card. Apple shows at most four secondary and auxiliary
/// fields together on a store card, one primary field and a few header fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Layout {
    pub header: Vec<FieldKind>,
    pub primary: Vec<FieldKind>,
    pub secondary: Vec<FieldKind>,
    pub auxiliary: Vec<FieldKind>,
    pub back: Vec<FieldKind>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            header: vec![FieldKind::Tier],
            primary: vec![FieldKind::Points],
            secondary: vec![FieldKind::Name],
            auxiliary: vec![FieldKind::NextTier, FieldKind::MemberSince],
            back: vec![FieldKind::MemberNumber, FieldKind::LifetimePoints],
        }
    }
}

/// A fixed text on the back of the card (terms, opening hours, a phone number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackField {
    pub key: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Design {
    pub colors: Colors,
    pub logo_text: Option<String>,
    /// The accessibility description Apple requires; defaults to "<program> card".
    pub description: Option<String>,
    pub layout: Layout,
    /// English labels replacing the defaults, by field.
    pub labels: BTreeMap<FieldKind, String>,
    /// Lock-screen messages by field; each must contain `%@` (the new value).
    pub change_messages: BTreeMap<FieldKind, String>,
    pub back_fields: Vec<BackField>,
    /// Languages the card ships in; the first is the default.
    pub languages: Vec<Language>,
    /// Per language, English text -> translation (labels, tier names, messages, back fields).
    pub localizations: BTreeMap<Language, BTreeMap<String, String>>,
    /// Google Wallet: a plain balance change notifies the card holder too (it counts against
    /// Google's three notifications a day). Tier changes and newly affordable rewards always do.
    pub notify_balance_changes: bool,
}

impl Default for Design {
    fn default() -> Self {
        Design {
            colors: Colors::default(),
            logo_text: None,
            description: None,
            layout: Layout::default(),
            labels: BTreeMap::new(),
            change_messages: BTreeMap::new(),
            back_fields: Vec::new(),
            languages: vec![Language::english()],
            localizations: BTreeMap::new(),
            notify_balance_changes: false,
        }
    }
}

impl Design {
    pub fn validated(mut self) -> Result<Design, Invalid> {
        if let Some(t) = &self.logo_text {
            self.logo_text = Some(text("logo_text", t, 40)?);
        }
        if let Some(d) = &self.description {
            self.description = Some(text("description", d, 200)?);
        }
        self.validate_layout()?;
        for (kind, label) in &mut self.labels {
            *label = text(&format!("labels.{}", kind.key()), label, 40)?;
        }
        for (kind, message) in &mut self.change_messages {
            let field = format!("change_messages.{}", kind.key());
            *message = text(&field, message, 120)?;
            if message.matches("%@").count() != 1 {
                return Err(Invalid::new(
                    field,
                    "must contain %@ exactly once (Wallet puts the new value there)",
                ));
            }
        }
        if self.back_fields.len() > 10 {
            return Err(Invalid::new("back_fields", "at most 10 back fields"));
        }
        let mut keys: BTreeSet<String> =
            FieldKind::ALL.iter().map(|k| k.key().to_string()).collect();
        for (i, f) in self.back_fields.iter_mut().enumerate() {
            let at = |e: Invalid| e.within(&format!("back_fields[{i}]"));
            let key_ok = !f.key.is_empty()
                && f.key.len() <= 40
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                return Err(at(Invalid::new("key", "must be 1 to 40 of a-z, 0-9 and _")));
            }
            if !keys.insert(f.key.clone()) {
                return Err(at(Invalid::new(
                    "key",
                    format!("{:?} is used twice", f.key),
                )));
            }
            f.label = text("label", &f.label, 60).map_err(at)?;
            f.value = text("value", &f.value, 2000).map_err(at)?;
        }
        if self.languages.is_empty() {
            return Err(Invalid::new("languages", "must list at least one language"));
        }
        let languages: BTreeSet<&Language> = self.languages.iter().collect();
        if languages.len() != self.languages.len() {
            return Err(Invalid::new("languages", "lists a language twice"));
        }
        for (lang, table) in &self.localizations {
            if !languages.contains(lang) {
                return Err(Invalid::new(
                    format!("localizations.{}", lang.as_str()),
                    "is not one of the design's languages",
                ));
            }
            for (source, translated) in table {
                let field = format!("localizations.{}", lang.as_str());
                text(&field, source, 2000)?;
                text(&field, translated, 2000)?;
            }
        }
        Ok(self)
    }

    fn validate_layout(&self) -> Result<(), Invalid> {
        let l = &self.layout;
        let mut seen = BTreeSet::new();
        for kind in l
            .header
            .iter()
            .chain(&l.primary)
            .chain(&l.secondary)
            .chain(&l.auxiliary)
            .chain(&l.back)
        {
            if !seen.insert(*kind) {
                return Err(Invalid::new(
                    "layout",
                    format!("{} is placed twice", kind.key()),
                ));
            }
        }
        if l.header.len() > 3 {
            return Err(Invalid::new("layout.header", "at most 3 header fields"));
        }
        if l.primary.len() > 1 {
            return Err(Invalid::new(
                "layout.primary",
                "a store card shows one primary field",
            ));
        }
        if l.secondary.len() + l.auxiliary.len() > 4 {
            return Err(Invalid::new(
                "layout",
                "a store card shows at most 4 secondary and auxiliary fields together",
            ));
        }
        Ok(())
    }

    pub fn label(&self, kind: FieldKind) -> &str {
        self.labels
            .get(&kind)
            .map_or(kind.default_label(), String::as_str)
    }

    pub fn change_message(&self, kind: FieldKind) -> Option<&str> {
        self.change_messages
            .get(&kind)
            .map(String::as_str)
            .or(kind.default_change_message())
    }

    pub fn default_language(&self) -> &Language {
        // validated() guarantees at least one language
        self.languages.first().unwrap_or(&ENGLISH)
    }
}

static ENGLISH: std::sync::LazyLock<Language> = std::sync::LazyLock::new(Language::english);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_defaults_and_rules() {
        let d: Design = serde_json::from_str("{}").unwrap();
        let d = d.validated().unwrap();
        assert_eq!(d.label(FieldKind::Points), "Points");
        assert_eq!(
            d.change_message(FieldKind::Points),
            Some("You now have %@ points")
        );
        let twice: Design =
            serde_json::from_str(r#"{"layout":{"header":["points"],"primary":["points"]}}"#)
                .unwrap();
        assert!(twice.validated().is_err());
        let no_placeholder: Design =
            serde_json::from_str(r#"{"change_messages":{"points":"Updated"}}"#).unwrap();
        assert!(no_placeholder.validated().is_err());
        let unknown_lang: Design =
            serde_json::from_str(r#"{"localizations":{"de":{"Points":"Punkte"}}}"#).unwrap();
        assert_eq!(
            unknown_lang.validated().unwrap_err().field,
            "localizations.de"
        );
        assert!(serde_json::from_str::<Design>(r#"{"colour":{}}"#).is_err());
        let clash: Design =
            serde_json::from_str(r#"{"back_fields":[{"key":"points","label":"x","value":"y"}]}"#)
                .unwrap();
        assert!(clash.validated().is_err());
    }
}
