//! A program's card design: colours, which field shows what where, labels, change messages,
//! back fields and languages. Arrives as JSON; `Design::validated` checks it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::color::Rgb;
use crate::domain::language::Language;
use crate::domain::{text, Invalid};

/// What a card field shows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
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

/// The kind of barcode on the card. The scanner page's camera reads QR codes on every phone;
/// PDF417 and Aztec need a hardware scanner or a browser with barcode detection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardBarcode {
    #[default]
    Qr,
    Pdf417,
    Aztec,
}

impl CardBarcode {
    pub const ALL: [CardBarcode; 3] = [CardBarcode::Qr, CardBarcode::Pdf417, CardBarcode::Aztec];

    /// The design's key for it.
    pub fn key(self) -> &'static str {
        match self {
            CardBarcode::Qr => "qr",
            CardBarcode::Pdf417 => "pdf417",
            CardBarcode::Aztec => "aztec",
        }
    }
}

/// Card colours. Absent keys take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Colors {
    #[schema(default = "#212529")]
    pub background: Rgb,
    #[schema(default = "#ffffff")]
    pub foreground: Rgb,
    #[schema(default = "#adb5bd")]
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

/// Where each field goes on the store card. Each field kind may be placed at most once; at
/// most 3 header fields, 1 primary field, and 4 secondary and auxiliary fields together.
/// Absent keys take their defaults (`[]` empties a row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Layout {
    /// Header fields (top right).
    #[schema(max_items = 3, default = json!(["tier"]))]
    pub header: Vec<FieldKind>,
    /// The primary field.
    #[schema(max_items = 1, default = json!(["points"]))]
    pub primary: Vec<FieldKind>,
    /// Secondary fields.
    #[schema(max_items = 4, default = json!(["name"]))]
    pub secondary: Vec<FieldKind>,
    /// Auxiliary fields.
    #[schema(max_items = 4, default = json!(["next_tier", "member_since"]))]
    pub auxiliary: Vec<FieldKind>,
    /// Fields on the back of the card.
    #[schema(default = json!(["member_number", "lifetime_points"]))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackField {
    /// Unique within the card; must not be a field kind's key (`points`, `tier`, ...).
    #[schema(pattern = "^[a-z0-9_]{1,40}$")]
    pub key: String,
    /// Trimmed; no control characters.
    #[schema(min_length = 1, max_length = 60)]
    pub label: String,
    /// Trimmed; may contain line breaks.
    #[schema(min_length = 1, max_length = 2000)]
    pub value: String,
}

/// How a program's cards look. In requests every key is optional and absent keys take their
/// defaults (so `PUT /design` with `{}` restores the default design); in answers every key is
/// present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Design {
    pub colors: Colors,
    /// Text next to the logo.
    #[schema(max_length = 40)]
    pub logo_text: Option<String>,
    /// The accessibility description Apple requires; `null` means "<program name> card".
    #[schema(max_length = 200)]
    pub description: Option<String>,
    pub layout: Layout,
    /// English labels replacing the defaults, by field kind (at most 40 characters each).
    #[schema(schema_with = labels_schema)]
    pub labels: BTreeMap<FieldKind, String>,
    /// Lock-screen messages when a field changes, by field kind; each must contain `%@` (the
    /// new value) exactly once. `points` and `tier` have defaults.
    #[schema(schema_with = change_messages_schema)]
    pub change_messages: BTreeMap<FieldKind, String>,
    #[schema(max_items = 10, default = json!([]))]
    pub back_fields: Vec<BackField>,
    /// Languages the card ships in; the first is the default. No language twice.
    #[schema(min_items = 1, default = json!(["en"]))]
    pub languages: Vec<Language>,
    /// Per language (one of `languages`), English text -> translation: labels, tier names,
    /// messages, back fields and the description.
    #[schema(schema_with = localizations_schema)]
    pub localizations: BTreeMap<Language, BTreeMap<String, String>>,
    /// Google Wallet: a plain balance change also notifies the card holder (counts against
    /// Google's three notifications per card per day). Tier changes and newly affordable
    /// rewards always notify.
    #[schema(default = false)]
    pub notify_balance_changes: bool,
    /// The barcode on both cards.
    #[schema(default = "qr")]
    pub barcode: CardBarcode,
}

/// A map keyed by field kind to strings of 1 to `max` characters.
fn by_field_kind(description: &str, max: usize) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::RefOr(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(max))
                .into(),
        )))
        .default(Some(serde_json::json!({})))
        .property_names(inline::<FieldKind>())
        .build()
}

/// `T`'s own schema, for where a reference cannot stand (`propertyNames`).
fn inline<T: utoipa::PartialSchema>() -> Option<utoipa::openapi::Schema> {
    match T::schema() {
        utoipa::openapi::RefOr::T(s) => Some(s),
        utoipa::openapi::RefOr::Ref(_) => None,
    }
}

fn labels_schema() -> utoipa::openapi::Object {
    by_field_kind(
        "English labels replacing the defaults, by field kind (at most 40 characters each).",
        40,
    )
}

fn change_messages_schema() -> utoipa::openapi::Object {
    by_field_kind(
        "Lock-screen messages when a field changes, by field kind; each must contain `%@` (the \
         new value) exactly once. `points` and `tier` have defaults.",
        120,
    )
}

fn localizations_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    let translations = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(2000))
                .into(),
        )));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Per language (one of `languages`), English text -> translation: labels, tier \
             names, messages, back fields and the description.",
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(translations.into())))
        .default(Some(serde_json::json!({})))
        .property_names(inline::<Language>())
        .build()
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
            barcode: CardBarcode::Qr,
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
