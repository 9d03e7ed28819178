//! Rendering pass.json from a program design and a member snapshot, and the per-language
//! `pass.strings` that translate it. A pass is a pure function of (design, member); nothing
//! here touches storage.

mod dictionaries;

use std::collections::BTreeMap;

use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::{CardBarcode, FieldKind, Program};

use super::strings::encode_pass_strings;
pub use dictionaries::{
    Barcode, BarcodeFormat, DataDetectorType, DateStyle, Field, FieldValue, MessageEncoding, Pass,
    StoreCard,
};

/// What a pass needs besides the program and member.
pub struct PassContext<'a> {
    /// `webServiceURL`: where Wallet registers and fetches updates (no trailing slash).
    pub web_service_url: &'a str,
    /// The signed token the barcode carries.
    pub barcode_message: &'a str,
}

/// pass.json bytes (compact JSON) for `member` of `program`.
pub fn render(program: &Program, member: &Member, ctx: &PassContext<'_>) -> Vec<u8> {
    // Serialising these types cannot fail (string keys only, no floats).
    serde_json::to_vec(&pass(program, member, ctx)).unwrap_or_default()
}

/// The pass dictionary for `member` of `program`.
pub fn pass<'a>(program: &'a Program, member: &'a Member, ctx: &PassContext<'a>) -> Pass<'a> {
    let design = &program.design;
    let tier = member
        .tier
        .as_deref()
        .and_then(|t| program.tiers.by_name(t));
    let tier_design = tier.and_then(|t| t.design.as_ref());
    let colors = &design.colors;
    let background = tier_design
        .and_then(|d| d.background_color)
        .unwrap_or(colors.background);
    let foreground = tier_design
        .and_then(|d| d.foreground_color)
        .unwrap_or(colors.foreground);
    let label = tier_design
        .and_then(|d| d.label_color)
        .unwrap_or(colors.label);
    let logo_text = tier_design
        .and_then(|d| d.logo_text.as_deref())
        .or(design.logo_text.as_deref());

    let layout = &design.layout;
    let fields = |kinds: &[FieldKind], back: bool| -> Vec<Field<'a>> {
        kinds
            .iter()
            .filter_map(|k| field(program, member, *k, back))
            .collect()
    };
    let mut back = fields(&layout.back, true);
    // Points about to expire always show, with their lock-screen message: on the back
    // unless the marketer placed the field elsewhere.
    let placed = [
        &layout.header,
        &layout.primary,
        &layout.secondary,
        &layout.auxiliary,
        &layout.back,
    ]
    .iter()
    .any(|kinds| kinds.contains(&FieldKind::ExpiringPoints));
    if !placed {
        back.splice(
            0..0,
            field(program, member, FieldKind::ExpiringPoints, true),
        );
    }
    back.extend(
        design
            .back_fields
            .iter()
            .map(|f| Field::plain(&f.key, &f.label, FieldValue::Text(f.value.clone()))),
    );

    Pass {
        authentication_token: member.auth_token.expose(),
        background_color: background.apple(),
        barcodes: vec![Barcode {
            alt_text: member_number(member),
            format: match design.barcode {
                CardBarcode::Qr => BarcodeFormat::Qr,
                CardBarcode::Pdf417 => BarcodeFormat::Pdf417,
                CardBarcode::Aztec => BarcodeFormat::Aztec,
            },
            message: ctx.barcode_message,
            message_encoding: MessageEncoding::Latin1,
        }],
        description: description(program),
        foreground_color: foreground.apple(),
        format_version: 1,
        label_color: label.apple(),
        logo_text,
        organization_name: &program.organization,
        pass_type_identifier: program.pass_type_id.as_str(),
        serial_number: member.serial.as_str(),
        store_card: StoreCard {
            auxiliary_fields: fields(&layout.auxiliary, false),
            back_fields: back,
            header_fields: fields(&layout.header, false),
            primary_fields: fields(&layout.primary, false),
            secondary_fields: fields(&layout.secondary, false),
        },
        team_identifier: program.team_id.as_str(),
        voided: member.status == MemberStatus::Voided,
        web_service_url: ctx.web_service_url,
    }
}

fn description(program: &Program) -> String {
    program
        .design
        .description
        .clone()
        .unwrap_or_else(|| format!("{} card", program.name))
}

/// What a person reads under the barcode and tells the cashier: the marketer's own member
/// number when there is one, otherwise the serial in groups of four.
fn member_number(member: &Member) -> String {
    match &member.external_id {
        Some(id) => id.clone(),
        None => member
            .serial
            .as_str()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).to_uppercase())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// One field dictionary, or `None` when the member has nothing to show there (no tier yet,
/// already in the top tier).
fn field<'a>(
    program: &'a Program,
    member: &'a Member,
    kind: FieldKind,
    back: bool,
) -> Option<Field<'a>> {
    let design = &program.design;
    let mut date = false;
    let value = match kind {
        FieldKind::Points => FieldValue::Number(member.balance),
        FieldKind::Tier => FieldValue::Text(member.tier.clone()?),
        FieldKind::Name => FieldValue::Text(member.name.clone()),
        FieldKind::MemberNumber => FieldValue::Text(member_number(member)),
        FieldKind::LifetimePoints => FieldValue::Number(member.lifetime_points),
        FieldKind::MemberSince => {
            date = true;
            // Whole seconds: Wallet's ISO 8601 parsing does not take fractions.
            let day = member.created_at.replace_nanosecond(0).ok()?;
            FieldValue::Text(
                day.format(&time::format_description::well_known::Rfc3339)
                    .ok()?,
            )
        }
        FieldKind::ExpiringPoints => {
            let e = member.expiring?;
            FieldValue::Text(format!("{} on {}", e.points, e.at.date()))
        }
        FieldKind::NextTier => {
            let next = program.tiers.next_after(member.lifetime_points)?;
            FieldValue::Text(format!(
                "{} to {}",
                next.threshold - member.lifetime_points,
                next.name
            ))
        }
    };
    Some(Field {
        change_message: design.change_message(kind),
        // Apple: data detectors only on back fields; a member number is no phone number.
        data_detector_types: (back && kind == FieldKind::MemberNumber).then(Vec::new),
        date_style: date.then_some(DateStyle::Medium),
        time_style: date.then_some(DateStyle::None),
        ..Field::plain(kind.key(), design.label(kind), value)
    })
}

/// Every text of the card a translation can replace (labels, lock-screen messages, tier
/// names, back fields, the description, the names), sorted, each once: what the
/// `pass.strings` files map, and what a translation form asks for.
pub fn translatable(program: &Program) -> Vec<String> {
    let design = &program.design;
    let mut sources: Vec<String> = Vec::new();
    for kind in FieldKind::ALL {
        sources.push(design.label(kind).to_string());
        if let Some(m) = design.change_message(kind) {
            sources.push(m.to_string());
        }
    }
    sources.extend(program.tiers.as_slice().iter().map(|t| t.name.clone()));
    for f in &design.back_fields {
        sources.push(f.label.clone());
        sources.push(f.value.clone());
    }
    sources.push(description(program));
    sources.push(program.organization.clone());
    sources.extend(design.logo_text.clone());
    sources.sort();
    sources.dedup();
    sources
}

/// `<lang>.lproj/pass.strings` files for every language of the design, or none when the card
/// has one language. Each maps the English text used in pass.json to its translation: the
/// program's own translations first, then built-in ones for the default labels. Tier names
/// and back fields are design texts too, so the files depend on the design only and are
/// prepared once per design version.
pub fn localizations(program: &Program) -> Vec<(String, Vec<u8>)> {
    let design = &program.design;
    if design.languages.len() < 2 {
        return Vec::new();
    }
    let sources = translatable(program);

    design
        .languages
        .iter()
        .map(|lang| {
            let own = design.localizations.get(lang);
            // The default language maps each text to itself, so its file is never empty and
            // Wallet has a real match for it instead of picking a folder at random.
            let is_default = lang == design.default_language();
            let entries: Vec<(String, String)> = sources
                .iter()
                .filter_map(|s| {
                    let translated = own
                        .and_then(|t| t.get(s).cloned())
                        .or_else(|| builtin(lang.as_str(), s).map(str::to_string))
                        .or_else(|| is_default.then(|| s.clone()))?;
                    Some((s.clone(), translated))
                })
                .collect();
            (
                format!("{}.lproj/pass.strings", lang.as_str()),
                encode_pass_strings(&entries),
            )
        })
        .collect()
}

/// Translations of the default labels and messages, so a two-language card reads well
/// before the marketer translates anything.
fn builtin(lang: &str, english: &str) -> Option<&'static str> {
    let table: &BTreeMap<&str, [&str; 3]> = &BUILTIN;
    let [de, fr, es] = table.get(english)?;
    match lang.split('-').next()? {
        "de" => Some(de),
        "fr" => Some(fr),
        "es" => Some(es),
        _ => None,
    }
}

static BUILTIN: std::sync::LazyLock<BTreeMap<&'static str, [&'static str; 3]>> =
    std::sync::LazyLock::new(|| {
        BTreeMap::from([
            ("Points", ["Punkte", "Points", "Puntos"]),
            ("Tier", ["Stufe", "Niveau", "Nivel"]),
            ("Member", ["Mitglied", "Membre", "Socio"]),
            (
                "Member number",
                ["Mitgliedsnummer", "Numéro de membre", "Número de socio"],
            ),
            (
                "Lifetime points",
                ["Punkte gesamt", "Points cumulés", "Puntos acumulados"],
            ),
            (
                "Member since",
                ["Mitglied seit", "Membre depuis", "Socio desde"],
            ),
            (
                "Next tier",
                ["Nächste Stufe", "Niveau suivant", "Siguiente nivel"],
            ),
            (
                "Points expiring",
                [
                    "Verfallende Punkte",
                    "Points expirant",
                    "Puntos que caducan",
                ],
            ),
            (
                "Points expiring: %@",
                [
                    "Verfallende Punkte: %@",
                    "Points expirant : %@",
                    "Puntos que caducan: %@",
                ],
            ),
            (
                "You now have %@ points",
                [
                    "Sie haben jetzt %@ Punkte",
                    "Vous avez maintenant %@ points",
                    "Ahora tienes %@ puntos",
                ],
            ),
            (
                "You are now %@",
                [
                    "Sie sind jetzt %@",
                    "Vous êtes maintenant %@",
                    "Ahora eres %@",
                ],
            ),
        ])
    });

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::clock::OsRandom;
    use crate::domain::apple_ids::{PassTypeId, TeamId};
    use crate::domain::ids::ProgramId;
    use crate::domain::language::Language;

    use crate::domain::program::{Design, EarnRules, Tier, Tiers};

    fn program() -> Program {
        let de = Language::parse("de").unwrap();
        let design = Design {
            languages: vec![Language::english(), de.clone()],
            localizations: BTreeMap::from([(
                de,
                BTreeMap::from([("Gold".to_string(), "Gold-Stufe".to_string())]),
            )]),
            ..Design::default()
        };
        let now = crate::clock::system_now();
        Program {
            id: ProgramId::generate(&OsRandom),
            name: "Bean There".into(),
            organization: "Bean There Coffee".into(),
            pass_type_id: PassTypeId::parse("pass.com.example.beans").unwrap(),
            team_id: TeamId::parse("ABCDE12345").unwrap(),
            design: design.validated().unwrap(),
            tiers: Tiers::validated(vec![
                Tier {
                    name: "Bronze".into(),
                    threshold: 0,
                    design: None,
                },
                Tier {
                    name: "Gold".into(),
                    threshold: 500,
                    design: None,
                },
            ])
            .unwrap(),
            earn_rules: EarnRules::default(),
            design_version: 1,
            created_at: now,
            updated_at: now,
            pass_modified: now,
            expiry: None,
        }
    }

    fn member(p: &Program) -> Member {
        crate::domain::member::sample(&p.id)
    }

    #[test]
    fn renders_store_card_with_points_tier_and_name() {
        let p = program();
        let m = member(&p);
        let ctx = PassContext {
            web_service_url: "https://w.example/wallet",
            barcode_message: "PW1-token",
        };
        let v: Value = serde_json::from_slice(&render(&p, &m, &ctx)).unwrap();
        assert_eq!(v["formatVersion"], 1);
        assert_eq!(v["serialNumber"], m.serial.as_str());
        assert_eq!(v["authenticationToken"], m.auth_token.expose());
        assert_eq!(v["barcodes"][0]["message"], "PW1-token");
        let card = &v["storeCard"];
        assert_eq!(card["primaryFields"][0]["value"], 120);
        assert!(card["primaryFields"][0]["changeMessage"]
            .as_str()
            .unwrap()
            .contains("%@"));
        assert_eq!(card["headerFields"][0]["value"], "Bronze");
        assert_eq!(card["secondaryFields"][0]["value"], "Ada Lovelace");
        assert_eq!(card["auxiliaryFields"][0]["value"], "180 to Gold");
        assert!(v.get("voided").is_none());
        let mut voided = m.clone();
        voided.status = MemberStatus::Voided;
        let v: Value = serde_json::from_slice(&render(&p, &voided, &ctx)).unwrap();
        assert_eq!(v["voided"], true);
    }

    #[test]
    fn strings_for_each_language() {
        let p = program();
        let files = localizations(&p);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["en.lproj/pass.strings", "de.lproj/pass.strings"]);
        let de = String::from_utf8(files[1].1.clone()).unwrap();
        assert!(de.contains("\"Points\" = \"Punkte\";"), "{de}");
        assert!(de.contains("\"Gold\" = \"Gold-Stufe\";"), "{de}");
    }
}
