//! The card designer's form, both ways: a program's design as the form's values, and the
//! values a person sent back as a design, with every problem in words and nothing they typed
//! lost. The designer's page, its live preview and its save all read the form through
//! [`DesignForm::parse`], so the preview shows exactly what saving would sign.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::color::{Rgb, MIN_TEXT_CONTRAST};
use crate::domain::language::Language;
use crate::domain::program::{BackField, CardBarcode, Design, FieldKind, Layout, Program};
use crate::domain::text;

/// Where a field can go, with the words the form uses.
pub const PLACES: [(&str, &str); 6] = [
    ("header", "Top right"),
    ("primary", "Large, over the strip"),
    ("secondary", "Below the strip"),
    ("auxiliary", "Second row below the strip"),
    ("back", "On the back"),
    ("hidden", "Not on the card"),
];

/// Languages offered, by tag, with their names in English.
pub const LANGUAGES: [(&str, &str); 20] = [
    ("en", "English"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pt", "Portuguese"),
    ("pt-BR", "Portuguese (Brazil)"),
    ("sv", "Swedish"),
    ("da", "Danish"),
    ("nb", "Norwegian"),
    ("fi", "Finnish"),
    ("pl", "Polish"),
    ("cs", "Czech"),
    ("tr", "Turkish"),
    ("el", "Greek"),
    ("ja", "Japanese"),
    ("zh-Hans", "Chinese (simplified)"),
    ("ar", "Arabic"),
    ("he", "Hebrew"),
];

const TERMS_KEY: &str = "terms";
const TERMS_LABEL: &str = "Terms and conditions";

/// One card field as the form shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FieldRow {
    pub key: String,
    pub default_label: &'static str,
    pub place: String,
    pub label: String,
    /// The lock-screen message, for the fields that have one.
    pub message: Option<String>,
    pub default_message: Option<&'static str>,
}

/// One fixed text (or link) on the back.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackRow {
    pub key: String,
    pub label: String,
    pub value: String,
}

/// One text to translate, with its translation per language.
#[derive(Debug, Clone, Serialize)]
pub struct TranslationRow {
    pub source: String,
    pub values: BTreeMap<String, String>,
}

/// Something wrong with what was sent, and which control it belongs to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// The designer's form: every value as text, as shown or as sent.
#[derive(Debug, Clone, Serialize)]
pub struct DesignForm {
    pub name: String,
    pub organization: String,
    pub logo_text: String,
    pub description: String,
    pub background: String,
    pub foreground: String,
    pub label_color: String,
    pub fields: Vec<FieldRow>,
    pub barcode: String,
    pub terms: String,
    pub back: Vec<BackRow>,
    pub main_language: String,
    pub languages: Vec<String>,
    pub translations: Vec<TranslationRow>,
    pub notify_balance_changes: bool,
}

fn kind_of(key: &str) -> Option<FieldKind> {
    FieldKind::ALL.into_iter().find(|k| k.key() == key)
}

fn row(kind: FieldKind, place: &str, design: &Design) -> FieldRow {
    FieldRow {
        key: kind.key().to_owned(),
        default_label: kind.default_label(),
        place: place.to_owned(),
        label: design.labels.get(&kind).cloned().unwrap_or_default(),
        message: kind.default_change_message().map(|_| {
            design
                .change_messages
                .get(&kind)
                .cloned()
                .unwrap_or_default()
        }),
        default_message: kind.default_change_message(),
    }
}

impl DesignForm {
    /// The form showing `program` as it is. `translatable` lists the card's texts.
    pub fn of(program: &Program, translatable: &[String]) -> DesignForm {
        let design = &program.design;
        let layout = &design.layout;
        let mut fields = Vec::new();
        for (place, kinds) in [
            ("header", &layout.header),
            ("primary", &layout.primary),
            ("secondary", &layout.secondary),
            ("auxiliary", &layout.auxiliary),
            ("back", &layout.back),
        ] {
            fields.extend(kinds.iter().map(|k| row(*k, place, design)));
        }
        for kind in FieldKind::ALL {
            if !fields.iter().any(|f| f.key == kind.key()) {
                fields.push(row(kind, "hidden", design));
            }
        }
        let terms = design
            .back_fields
            .iter()
            .find(|f| f.key == TERMS_KEY)
            .map(|f| f.value.clone())
            .unwrap_or_default();
        let back = design
            .back_fields
            .iter()
            .filter(|f| f.key != TERMS_KEY)
            .map(|f| BackRow {
                key: f.key.clone(),
                label: f.label.clone(),
                value: f.value.clone(),
            })
            .collect();
        let main = design.default_language().as_str().to_owned();
        let translations = translatable
            .iter()
            .map(|source| TranslationRow {
                source: source.clone(),
                values: design
                    .localizations
                    .iter()
                    .filter_map(|(lang, table)| {
                        Some((lang.as_str().to_owned(), table.get(source)?.clone()))
                    })
                    .collect(),
            })
            .collect();
        DesignForm {
            name: program.name.clone(),
            organization: program.organization.clone(),
            logo_text: design.logo_text.clone().unwrap_or_default(),
            description: design.description.clone().unwrap_or_default(),
            background: design.colors.background.hex(),
            foreground: design.colors.foreground.hex(),
            label_color: design.colors.label.hex(),
            fields,
            barcode: design.barcode.key().to_owned(),
            terms,
            back,
            main_language: main,
            languages: design
                .languages
                .iter()
                .map(|l| l.as_str().to_owned())
                .collect(),
            translations,
            notify_balance_changes: design.notify_balance_changes,
        }
    }

    /// The form as sent: its fields in the order they came (which is the order on the card).
    pub fn sent(pairs: &[(String, String)]) -> DesignForm {
        let one = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let blank = Design::default();
        let mut fields: Vec<FieldRow> = Vec::new();
        let mut back: BTreeMap<usize, BackRow> = BTreeMap::new();
        let mut sources: BTreeMap<usize, String> = BTreeMap::new();
        let mut translated: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        let mut languages = Vec::new();
        for (name, value) in pairs {
            let (head, rest) = name.split_once('.').unwrap_or((name, ""));
            let index = || rest.parse::<usize>().ok();
            match head {
                "place" => {
                    if let Some(kind) = kind_of(rest) {
                        if !fields.iter().any(|f| f.key == rest) {
                            fields.push(row(kind, value, &blank));
                        }
                    }
                }
                "label" | "message" => {
                    if let Some(f) = fields.iter_mut().find(|f| f.key == rest) {
                        if head == "label" {
                            f.label = value.clone();
                        } else if f.message.is_some() {
                            f.message = Some(value.clone());
                        }
                    }
                }
                "back_key" | "back_label" | "back_value" => {
                    if let Some(i) = index() {
                        let r = back.entry(i).or_default();
                        match head {
                            "back_key" => r.key = value.clone(),
                            "back_label" => r.label = value.clone(),
                            _ => r.value = value.clone(),
                        }
                    }
                }
                "language" => languages.push(value.clone()),
                "tr_source" => {
                    if let Some(i) = index() {
                        sources.insert(i, value.clone());
                    }
                }
                "tr" => {
                    if let Some((lang, i)) = rest.rsplit_once('.') {
                        if let Ok(i) = i.parse::<usize>() {
                            translated
                                .entry(i)
                                .or_default()
                                .insert(lang.to_owned(), value.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        for kind in FieldKind::ALL {
            if !fields.iter().any(|f| f.key == kind.key()) {
                fields.push(row(kind, "hidden", &blank));
            }
        }
        let main_language = one("main_language");
        if !main_language.is_empty() && !languages.contains(&main_language) {
            languages.insert(0, main_language.clone());
        }
        DesignForm {
            name: one("name"),
            organization: one("organization"),
            logo_text: one("logo_text"),
            description: one("description"),
            background: one("background"),
            foreground: one("foreground"),
            label_color: one("label_color"),
            fields,
            barcode: one("barcode"),
            terms: one("terms"),
            back: back.into_values().collect(),
            main_language,
            languages,
            translations: sources
                .into_iter()
                .map(|(i, source)| TranslationRow {
                    source,
                    values: translated.remove(&i).unwrap_or_default(),
                })
                .collect(),
            notify_balance_changes: pairs.iter().any(|(k, _)| k == "notify_balance_changes"),
        }
    }

    /// The program's name, its organization and the design the form describes, or every
    /// problem found, each in words for the person who filled it in.
    pub fn parse(&self) -> Result<(String, String, Design), Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push(Problem {
                field: field.to_owned(),
                message,
            })
        };
        let name = text("name", &self.name, 80)
            .map_err(|_| {
                problem(
                    "name",
                    "Give the program a name (up to 80 characters).".into(),
                )
            })
            .unwrap_or_default();
        let organization = text("organization", &self.organization, 80)
            .map_err(|_| {
                problem(
                    "organization",
                    "Give the brand name the card shows (up to 80 characters).".into(),
                )
            })
            .unwrap_or_default();
        let optional = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
        let mut design = Design {
            logo_text: optional(&self.logo_text),
            description: optional(&self.description),
            notify_balance_changes: self.notify_balance_changes,
            ..Design::default()
        };
        for (field, value, target) in [
            ("background", &self.background, 0),
            ("foreground", &self.foreground, 1),
            ("label_color", &self.label_color, 2),
        ] {
            match Rgb::parse(value.trim()) {
                Ok(c) => match target {
                    0 => design.colors.background = c,
                    1 => design.colors.foreground = c,
                    _ => design.colors.label = c,
                },
                Err(_) => problem(
                    field,
                    format!("{value:?} is not a colour; pick one, or type it like #1e3a5f."),
                ),
            }
        }
        let mut layout = Layout {
            header: vec![],
            primary: vec![],
            secondary: vec![],
            auxiliary: vec![],
            back: vec![],
        };
        for f in &self.fields {
            let Some(kind) = kind_of(&f.key) else {
                continue;
            };
            match f.place.as_str() {
                "header" => layout.header.push(kind),
                "primary" => layout.primary.push(kind),
                "secondary" => layout.secondary.push(kind),
                "auxiliary" => layout.auxiliary.push(kind),
                "back" => layout.back.push(kind),
                _ => {}
            }
            if let Some(label) = optional(&f.label) {
                design.labels.insert(kind, label);
            }
            if let Some(message) = f.message.as_deref().and_then(optional) {
                design.change_messages.insert(kind, message);
            }
        }
        if layout.header.len() > 3 {
            problem(
                "layout",
                format!(
                    "The top right of the card has room for 3 fields; you placed {} there.",
                    layout.header.len()
                ),
            );
        }
        if layout.primary.len() > 1 {
            problem(
                "layout",
                "Only one field can be the large one over the strip.".into(),
            );
        }
        if layout.secondary.len() + layout.auxiliary.len() > 4 {
            problem(
                "layout",
                "Below the strip there is room for 4 fields in all (both rows together).".into(),
            );
        }
        design.layout = layout;
        design.barcode = CardBarcode::ALL
            .into_iter()
            .find(|b| b.key() == self.barcode)
            .unwrap_or_default();
        if let Some(terms) = optional(&self.terms) {
            design.back_fields.push(BackField {
                key: TERMS_KEY.into(),
                label: TERMS_LABEL.into(),
                value: terms,
            });
        }
        let mut n = 0;
        for r in &self.back {
            let (label, value) = (r.label.trim(), r.value.trim());
            if label.is_empty() && value.is_empty() {
                continue;
            }
            if label.is_empty() || value.is_empty() {
                problem(
                    "back",
                    "Each text on the back needs both a heading and the text (or link).".into(),
                );
                continue;
            }
            let key = if r.key.is_empty() || r.key == TERMS_KEY {
                loop {
                    n += 1;
                    let key = format!("text_{n}");
                    if !self.back.iter().any(|b| b.key == key) {
                        break key;
                    }
                }
            } else {
                r.key.clone()
            };
            design.back_fields.push(BackField {
                key,
                label: label.to_owned(),
                value: value.to_owned(),
            });
        }
        let mut languages = Vec::new();
        for tag in &self.languages {
            match Language::parse(tag) {
                Ok(l) if !languages.contains(&l) => languages.push(l),
                Ok(_) => {}
                Err(_) => problem("languages", format!("{tag:?} is not a language we know.")),
            }
        }
        if languages.is_empty() {
            languages.push(Language::english());
        }
        for row in &self.translations {
            for (tag, value) in &row.values {
                let Ok(lang) = Language::parse(tag) else {
                    continue;
                };
                if lang == languages[0] || !languages.contains(&lang) || value.trim().is_empty() {
                    continue;
                }
                design
                    .localizations
                    .entry(lang)
                    .or_default()
                    .insert(row.source.clone(), value.trim().to_owned());
            }
        }
        design.languages = languages;
        if !problems.is_empty() {
            return Err(problems);
        }
        design
            .validated()
            .map(|d| (name, organization, d))
            .map_err(|e| {
                vec![Problem {
                    field: e.field.split(['.', '[']).next().unwrap_or("").to_owned(),
                    message: plain(&e.field, &e.to_string()),
                }]
            })
    }
}

/// A domain refusal in the form's words: which control, then what the rule is.
fn plain(field: &str, message: &str) -> String {
    let what = match field.split(['.', '[']).next().unwrap_or("") {
        "logo_text" => "The text beside the logo",
        "description" => "The description",
        "labels" => "A field name",
        "change_messages" => "A lock-screen message",
        "back_fields" => "A text on the back",
        "localizations" => "A translation",
        _ => "The design",
    };
    let rule = message
        .split_once(": ")
        .map_or(message, |(_, rule)| rule)
        .trim_end_matches('.');
    format!("{what}: {rule}.")
}

/// Pairs of the design's colours whose contrast is below WCAG's 4.5:1 for text, in words.
pub fn contrast_warnings(design: &Design) -> Vec<String> {
    let c = &design.colors;
    [("text", &c.foreground), ("field names", &c.label)]
        .into_iter()
        .filter_map(|(what, colour)| {
            let ratio = colour.contrast(&c.background);
            (ratio < MIN_TEXT_CONTRAST).then(|| {
                format!(
                    "The {what} ({}) on the background ({}) has a contrast of {ratio:.2}:1, below the 4.5:1 people need to read it easily. Pick a darker or lighter colour.",
                    colour.hex(),
                    c.background.hex()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
