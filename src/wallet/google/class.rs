//! The Google `LoyaltyClass` for a program: what every card of the program shares (names,
//! logo, colour, labels, links and fixed texts), and the localized-string helpers the object
//! uses too. A pure function of the program; nothing here touches storage or the network.

use serde_json::{json, Map, Value};

use crate::domain::ids::ProgramId;
use crate::domain::language::Language;
use crate::domain::program::{Design, FieldKind, Program};

use super::ids::{class_id, GoogleContext};

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
pub fn loyalty_class(program: &Program, ctx: &GoogleContext) -> Value {
    let design = &program.design;
    let mut class = Map::new();
    class.insert("id".into(), json!(class_id(&ctx.issuer_id, &program.id)));
    put_text(&mut class, design, "issuerName", &program.organization);
    put_text(&mut class, design, "programName", &program.name);
    class.insert(
        "programLogo".into(),
        image(
            &image_url(ctx, &program.id, LOGO_IMAGE),
            design,
            &program.organization,
        ),
    );
    class.insert(
        "heroImage".into(),
        image(
            &image_url(ctx, &program.id, HERO_IMAGE),
            design,
            &program.name,
        ),
    );
    class.insert(
        "hexBackgroundColor".into(),
        json!(design.colors.background.hex()),
    );
    put_text(
        &mut class,
        design,
        "accountIdLabel",
        design.label(FieldKind::MemberNumber),
    );
    put_text(
        &mut class,
        design,
        "accountNameLabel",
        design.label(FieldKind::Name),
    );

    // Back fields: links (web, phone, mail, map) go to the links module, where Google makes
    // them tappable; everything else (terms, opening hours) becomes a text module.
    let (links, texts): (Vec<_>, Vec<_>) =
        design.back_fields.iter().partition(|f| is_link(&f.value));
    if !links.is_empty() {
        let uris: Vec<Value> = links
            .iter()
            .map(|f| {
                let mut uri = Map::new();
                uri.insert("uri".into(), json!(f.value));
                uri.insert("id".into(), json!(f.key));
                put_text(&mut uri, design, "description", &f.label);
                Value::Object(uri)
            })
            .collect();
        class.insert("linksModuleData".into(), json!({ "uris": uris }));
    }
    if !texts.is_empty() {
        let modules: Vec<Value> = texts
            .iter()
            .map(|f| text_module(design, &f.key, &f.label, &f.value))
            .collect();
        class.insert("textModulesData".into(), Value::Array(modules));
    }

    class.insert("reviewStatus".into(), json!("UNDER_REVIEW"));
    if let Some(url) = &ctx.callback_url {
        class.insert("callbackOptions".into(), json!({ "url": url }));
    }
    Value::Object(class)
}

/// A `TextModuleData`. `id` must not contain dots (Google uses them in field references);
/// back field keys and our own ids are `[a-z0-9_]`.
pub fn text_module(design: &Design, id: &str, header: &str, body: &str) -> Value {
    let mut module = Map::new();
    module.insert("id".into(), json!(id));
    put_text(&mut module, design, "header", header);
    put_text(&mut module, design, "body", body);
    Value::Object(module)
}

fn image(url: &str, design: &Design, description: &str) -> Value {
    json!({
        "sourceUri": { "uri": url },
        "contentDescription": localized_always(design, description),
    })
}

/// Sets `key` to the design text in the card's default language, and `localizedKey` (Google's
/// naming: `programName` -> `localizedProgramName`) when other languages read differently.
pub fn put_text(target: &mut Map<String, Value>, design: &Design, key: &str, english: &str) {
    target.insert(key.into(), json!(default_text(design, english)));
    if let Some(localized) = localized(design, english) {
        let mut name = String::with_capacity(key.len() + 9);
        name.push_str("localized");
        let mut chars = key.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
        target.insert(name, localized);
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
pub fn localized(design: &Design, english: &str) -> Option<Value> {
    let default = default_text(design, english);
    let translated: Vec<Value> = design
        .languages
        .iter()
        .skip(1)
        .filter_map(|lang| {
            let value = translate(design, lang, english).unwrap_or(english);
            (value != default).then(|| json!({ "language": lang.as_str(), "value": value }))
        })
        .collect();
    if translated.is_empty() {
        return None;
    }
    Some(json!({
        "defaultValue": { "language": design.default_language().as_str(), "value": default },
        "translatedValues": translated,
    }))
}

/// Like `localized`, but always a `LocalizedString` (fields that have no plain-string twin,
/// such as an image's `contentDescription`).
fn localized_always(design: &Design, english: &str) -> Value {
    localized(design, english).unwrap_or_else(|| {
        json!({
            "defaultValue": {
                "language": design.default_language().as_str(),
                "value": default_text(design, english),
            }
        })
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

    use super::*;
    use crate::clock::OsRandom;
    use crate::domain::apple_ids::{PassTypeId, TeamId};
    use crate::domain::color::Rgb;
    use crate::domain::program::{BackField, EarnRules, Tier, Tiers};
    use crate::wallet::google::ids::IssuerId;

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
        let class = loyalty_class(&p, &c);
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
        let class = loyalty_class(&p, &c);
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
        let l = localized(&design, "Points").unwrap();
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
