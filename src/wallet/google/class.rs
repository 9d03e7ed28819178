//! The Google `LoyaltyClass` for a program: what every card of the program shares (names,
//! logo, colour, labels, links and fixed texts), and the localized-string helpers the object
//! uses too. A pure function of the program; nothing here touches storage or the network.

use crate::domain::ids::ProgramId;
use crate::domain::language::Language;
use crate::domain::program::{Design, FieldKind, Program};

use super::ids::{class_id, GoogleContext};
use super::resources::{
    CallbackOptions, Image, ImageUri, LinksModuleData, LocalizedString, LoyaltyClass, ReviewStatus,
    TextModuleData, TranslatedString, Uri,
};

/// Image names under `/images/{program_id}/` that Google fetches for the class.
pub const LOGO_IMAGE: &str = "google-logo.png";
pub const HERO_IMAGE: &str = "google-hero.png";

/// The public HTTPS URL passwright serves a program's Google image from:
/// `{public_base_url}/images/{program_id}/{name}`. Google downloads images when a class is
/// inserted or updated, so the URL must be reachable from the internet.
pub fn image_url(ctx: &GoogleContext, program_id: &ProgramId, name: &str) -> String {
    format!(
        "{}/images/{}/{}",
        ctx.public_base_url,
        program_id.as_str(),
        name
    )
}

/// The loyalty class for `program`. `reviewStatus` is always `UNDER_REVIEW`: Google only lets
/// issuers set `DRAFT` or `UNDER_REVIEW`, a draft class cannot carry objects, and an approved
/// class is updated by sending `UNDER_REVIEW` again.
///
/// Not set: `rewardsTier`/`rewardsTierLabel`. They are class-wide (one tier for every member),
/// so the member's own tier lives on the object (see `object::TierPlacement`), and a tier label
/// without a tier shows nothing.
pub fn loyalty_class(program: &Program, ctx: &GoogleContext) -> LoyaltyClass {
    let design = &program.design;
    let issuer_name = text(design, &program.organization);
    let program_name = text(design, &program.name);
    let account_id_label = text(design, design.label(FieldKind::MemberNumber));
    let account_name_label = text(design, design.label(FieldKind::Name));

    // Back fields: links (web, phone, mail, map) go to the links module, where Google makes
    // them tappable; everything else (terms, opening hours) becomes a text module.
    let (links, texts): (Vec<_>, Vec<_>) =
        design.back_fields.iter().partition(|f| is_link(&f.value));
    let links_module_data = (!links.is_empty()).then(|| LinksModuleData {
        uris: links
            .iter()
            .map(|f| {
                let description = text(design, &f.label);
                Uri {
                    description: description.plain,
                    id: f.key.clone(),
                    localized_description: description.localized,
                    uri: f.value.clone(),
                }
            })
            .collect(),
    });

    LoyaltyClass {
        account_id_label: Some(account_id_label.plain),
        account_name_label: Some(account_name_label.plain),
        callback_options: ctx
            .callback_url
            .as_ref()
            .map(|url| CallbackOptions { url: url.clone() }),
        hero_image: Some(image(
            image_url(ctx, &program.id, HERO_IMAGE),
            design,
            &program.name,
        )),
        hex_background_color: design.colors.background.hex(),
        id: class_id(&ctx.issuer_id, &program.id),
        issuer_name: issuer_name.plain,
        links_module_data,
        localized_account_id_label: account_id_label.localized,
        localized_account_name_label: account_name_label.localized,
        localized_issuer_name: issuer_name.localized,
        localized_program_name: program_name.localized,
        program_logo: image(
            image_url(ctx, &program.id, LOGO_IMAGE),
            design,
            &program.organization,
        ),
        program_name: program_name.plain,
        review_status: ReviewStatus::UnderReview,
        text_modules_data: texts
            .iter()
            .map(|f| text_module(design, &f.key, &f.label, &f.value))
            .collect(),
    }
}

/// A `TextModuleData`. `id` must not contain dots (Google uses them in field references);
/// back field keys and our own ids are `[a-z0-9_]`.
pub fn text_module(design: &Design, id: &str, header: &str, body: &str) -> TextModuleData {
    let (header, body) = (text(design, header), text(design, body));
    TextModuleData {
        body: body.plain,
        header: header.plain,
        id: id.to_string(),
        localized_body: body.localized,
        localized_header: header.localized,
    }
}

fn image(url: String, design: &Design, description: &str) -> Image {
    Image {
        content_description: Some(localized_always(design, description)),
        source_uri: ImageUri { uri: url },
    }
}

/// A design text as Google takes it: a plain string field (`programName`) in the card's
/// default language, and its `LocalizedString` twin (`localizedProgramName`) when other
/// languages read differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub plain: String,
    pub localized: Option<LocalizedString>,
}

/// `english` as [`Text`]: translated into the default language, with its localized twin.
pub fn text(design: &Design, english: &str) -> Text {
    Text {
        plain: default_text(design, english),
        localized: localized(design, english),
    }
}

/// A design text (an English label, tier name, back field) as the card's default language
/// reads it: the program's own translation, else the text itself.
pub fn default_text(design: &Design, english: &str) -> String {
    translate(design, design.default_language(), english)
        .unwrap_or(english)
        .to_string()
}

/// A `LocalizedString` for a design text, or `None` when every language of the card reads it
/// the same (nothing to translate, and full save links stay short).
///
/// Mirrors the Apple card: a language without its own translation shows the English text,
/// which is what Wallet shows when a `pass.strings` file lacks the key.
pub fn localized(design: &Design, english: &str) -> Option<LocalizedString> {
    let default = default_text(design, english);
    let translated: Vec<TranslatedString> = design
        .languages
        .iter()
        .skip(1)
        .filter_map(|lang| {
            let value = translate(design, lang, english).unwrap_or(english);
            (value != default).then(|| TranslatedString {
                language: lang.as_str().to_string(),
                value: value.to_string(),
            })
        })
        .collect();
    if translated.is_empty() {
        return None;
    }
    Some(LocalizedString {
        default_value: TranslatedString {
            language: design.default_language().as_str().to_string(),
            value: default,
        },
        translated_values: translated,
    })
}

/// Like `localized`, but always a `LocalizedString` (fields that have no plain-string twin,
/// such as an image's `contentDescription`).
fn localized_always(design: &Design, english: &str) -> LocalizedString {
    localized(design, english).unwrap_or_else(|| LocalizedString {
        default_value: TranslatedString {
            language: design.default_language().as_str().to_string(),
            value: default_text(design, english),
        },
        translated_values: Vec::new(),
    })
}

fn translate<'a>(design: &'a Design, lang: &Language, english: &str) -> Option<&'a str> {
    design
        .localizations
        .get(lang)
        .and_then(|table| table.get(english))
        .map(String::as_str)
}

/// A back field value Google can open: one URI with a scheme its links module understands.
fn is_link(value: &str) -> bool {
    !value.chars().any(char::is_whitespace)
        && ["https://", "http://", "tel:", "mailto:", "geo:"]
            .iter()
            .any(|scheme| value.len() > scheme.len() && value.starts_with(scheme))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::{json, Value};

    use super::*;
    use crate::clock::OsRandom;
    use crate::domain::apple_ids::{PassTypeId, TeamId};
    use crate::domain::color::Rgb;
    use crate::domain::program::{BackField, EarnRules, Tier, Tiers};
    use crate::wallet::google::ids::IssuerId;

    /// What Google receives, to look into.
    pub(crate) fn json_of(resource: &impl serde::Serialize) -> Value {
        serde_json::to_value(resource).unwrap()
    }

    pub(crate) fn ctx() -> GoogleContext {
        GoogleContext::new(
            IssuerId::parse("3388000000012345678").unwrap(),
            "https://cards.example.com/",
            Some("https://cards.example.com/google/callback".into()),
        )
    }

    pub(crate) fn program(design: Design, tiers: &[(&str, i64)]) -> Program {
        let now = crate::clock::system_now();
        Program {
            id: ProgramId::generate(&OsRandom),
            name: "Bean There Rewards".into(),
            organization: "Bean There Coffee".into(),
            pass_type_id: PassTypeId::parse("pass.com.example.beans").unwrap(),
            team_id: TeamId::parse("ABCDE12345").unwrap(),
            design: design.validated().unwrap(),
            tiers: Tiers::validated(
                tiers
                    .iter()
                    .map(|(name, threshold)| Tier {
                        name: name.to_string(),
                        threshold: *threshold,
                        design: None,
                    })
                    .collect(),
            )
            .unwrap(),
            earn_rules: EarnRules::default(),
            design_version: 1,
            created_at: now,
            updated_at: now,
            pass_modified: now,
            expiry: None,
        }
    }

    pub(crate) fn german_design() -> Design {
        let de = Language::parse("de").unwrap();
        Design {
            languages: vec![Language::english(), de.clone()],
            localizations: BTreeMap::from([(
                de,
                BTreeMap::from([
                    ("Points".to_string(), "Punkte".to_string()),
                    ("Gold".to_string(), "Gold-Stufe".to_string()),
                    ("Opening hours".to_string(), "Öffnungszeiten".to_string()),
                ]),
            )]),
            ..Design::default()
        }
    }

    #[test]
    fn class_carries_names_images_colour_and_review_status() {
        let mut design = german_design();
        design.colors.background = Rgb(0x12, 0x34, 0x56);
        design.back_fields = vec![
            BackField {
                key: "hours".into(),
                label: "Opening hours".into(),
                value: "Mon-Fri 7-19".into(),
            },
            BackField {
                key: "web".into(),
                label: "Website".into(),
                value: "https://beans.example".into(),
            },
            BackField {
                key: "phone".into(),
                label: "Call us".into(),
                value: "tel:+4930123456".into(),
            },
        ];
        let p = program(design, &[]);
        let c = ctx();
        let class = json_of(&loyalty_class(&p, &c));
        assert_eq!(
            class["id"],
            format!("3388000000012345678.{}", p.id.as_str())
        );
        assert_eq!(class["issuerName"], "Bean There Coffee");
        assert_eq!(class["programName"], "Bean There Rewards");
        assert_eq!(class["reviewStatus"], "UNDER_REVIEW");
        assert_eq!(class["hexBackgroundColor"], "#123456");
        assert_eq!(
            class["programLogo"]["sourceUri"]["uri"],
            format!(
                "https://cards.example.com/images/{}/google-logo.png",
                p.id.as_str()
            )
        );
        assert!(class["heroImage"]["sourceUri"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/google-hero.png"));
        assert_eq!(
            class["callbackOptions"]["url"],
            "https://cards.example.com/google/callback"
        );
        assert_eq!(class["accountIdLabel"], "Member number");
        let uris = class["linksModuleData"]["uris"].as_array().unwrap();
        assert_eq!(uris.len(), 2);
        assert_eq!(uris[0]["uri"], "https://beans.example");
        assert_eq!(uris[1]["description"], "Call us");
        let texts = class["textModulesData"].as_array().unwrap();
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0]["header"], "Opening hours");
        assert_eq!(
            texts[0]["localizedHeader"]["translatedValues"][0],
            json!({"language": "de", "value": "Öffnungszeiten"})
        );
        // Nothing to translate: no localized twin.
        assert!(class.get("localizedProgramName").is_none());
    }

    #[test]
    fn no_callback_no_links_when_not_configured() {
        let p = program(Design::default(), &[]);
        let mut c = ctx();
        c.callback_url = None;
        let class = json_of(&loyalty_class(&p, &c));
        assert!(class.get("callbackOptions").is_none());
        assert!(class.get("linksModuleData").is_none());
        assert!(class.get("textModulesData").is_none());
    }

    #[test]
    fn default_language_other_than_english_leads() {
        let de = Language::parse("de").unwrap();
        let design = Design {
            languages: vec![de.clone(), Language::english()],
            localizations: BTreeMap::from([(
                de,
                BTreeMap::from([("Points".to_string(), "Punkte".to_string())]),
            )]),
            ..Design::default()
        };
        let design = design.validated().unwrap();
        assert_eq!(default_text(&design, "Points"), "Punkte");
        let l = json_of(&localized(&design, "Points").unwrap());
        assert_eq!(
            l["defaultValue"],
            json!({"language": "de", "value": "Punkte"})
        );
        assert_eq!(
            l["translatedValues"],
            json!([{"language": "en", "value": "Points"}])
        );
        assert!(localized(&design, "Tier").is_none());
    }

    #[test]
    fn links_need_a_scheme_and_no_spaces() {
        assert!(is_link("https://example.com/terms"));
        assert!(is_link("mailto:hello@example.com"));
        assert!(!is_link("https://"));
        assert!(!is_link("see https://example.com"));
        assert!(!is_link("+49 30 123456"));
    }
}
