//! Fixed inputs for the wallets' golden tests: programs and members with nothing random or
//! clock-dependent left in them, so the cards built from them are the same bytes on every run.
//! The golden tests hash those bytes against values captured once; a change to how a card is
//! built that changes what Apple or Google receives fails them.

use std::collections::BTreeMap;

use time::macros::datetime;

use crate::domain::apple_ids::{AuthToken, SerialNumber};
use crate::domain::color::Rgb;
use crate::domain::expiry::Expiring;
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::language::Language;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::{BackField, Colors, Design, FieldKind, Program, TierDesign};

/// `crate::domain::program::sample()` (Bean There, Bronze and Gold, the default design) with a
/// fixed id and times.
pub(crate) fn program() -> Program {
    let at = datetime!(2025-03-01 12:00:00 UTC);
    Program {
        id: ProgramId::parse("prg_goldenbasic23456").unwrap(),
        created_at: at,
        updated_at: at,
        pass_modified: at,
        ..crate::domain::program::sample()
    }
}

/// `crate::domain::member::sample()` (Ada, 120 points of 320, Bronze) with a fixed id, serial,
/// authentication token and times.
pub(crate) fn member(program: &Program) -> Member {
    let at = datetime!(2025-03-02 09:30:15 UTC);
    Member {
        id: MemberId::parse("mem_goldenmember2345").unwrap(),
        serial: SerialNumber::parse("goldenserial23456723").unwrap(),
        auth_token: AuthToken::parse("golden-authentication-token-0001").unwrap(),
        created_at: at,
        updated_at: at,
        pass_modified: at,
        ..crate::domain::member::sample(&program.id)
    }
}

/// A program using most of what a design can say: two languages with translations, colours,
/// logo text, description, own labels and change messages, back fields (text, link, phone,
/// characters JSON escapes), and a top tier with its own colours and logo text.
pub(crate) fn rich_program() -> Program {
    let de = Language::parse("de").unwrap();
    let design = Design {
        colors: Colors {
            background: Rgb(0x3b, 0x2a, 0x1e),
            foreground: Rgb(0xfa, 0xf3, 0xe0),
            label: Rgb(0xc8, 0xa9, 0x7e),
        },
        logo_text: Some("Bean There".into()),
        description: Some("Bean There Rewards loyalty card".into()),
        labels: BTreeMap::from([(FieldKind::Points, "Beans".into())]),
        change_messages: BTreeMap::from([(FieldKind::Points, "Now %@ beans".into())]),
        back_fields: vec![
            BackField {
                key: "hours".into(),
                label: "Opening hours".into(),
                value: "Mon-Fri 7-19, Sat 8-14".into(),
            },
            BackField {
                key: "website".into(),
                label: "Website".into(),
                value: "https://beans.example.com/rewards?from=card&lang=en".into(),
            },
            BackField {
                key: "phone".into(),
                label: "Call us".into(),
                value: "tel:+4930123456".into(),
            },
            BackField {
                key: "terms".into(),
                label: "Terms".into(),
                value: "Points are \"beans\"; they expire after 12 months.\nNo cash value <£0.01>."
                    .into(),
            },
        ],
        languages: vec![Language::english(), de.clone()],
        localizations: BTreeMap::from([(
            de,
            BTreeMap::from([
                ("Beans".to_string(), "Bohnen".to_string()),
                ("Gold".to_string(), "Gold-Stufe".to_string()),
                ("Opening hours".to_string(), "Öffnungszeiten".to_string()),
                (
                    "Mon-Fri 7-19, Sat 8-14".to_string(),
                    "Mo-Fr 7-19, Sa 8-14".to_string(),
                ),
                ("Website".to_string(), "Webseite".to_string()),
                (
                    "Bean There Coffee".to_string(),
                    "Bean There Kaffee".to_string(),
                ),
                (
                    "Bean There Rewards".to_string(),
                    "Bean There Prämien".to_string(),
                ),
                ("Member number".to_string(), "Mitgliedsnummer".to_string()),
                ("Member".to_string(), "Mitglied".to_string()),
                ("Tier".to_string(), "Stufe".to_string()),
            ]),
        )]),
        ..Design::default()
    };
    let mut program = Program {
        id: ProgramId::parse("prg_goldenrich234567").unwrap(),
        name: "Bean There Rewards".into(),
        design: design.validated().unwrap(),
        design_version: 7,
        ..program()
    };
    let mut tiers = program.tiers.as_slice().to_vec();
    tiers[1].design = Some(TierDesign {
        background_color: Some(Rgb(0xd4, 0xaf, 0x37)),
        foreground_color: None,
        label_color: Some(Rgb(0x20, 0x20, 0x20)),
        logo_text: Some("Bean There Gold".into()),
    });
    program.tiers = crate::domain::program::Tiers::validated(tiers).unwrap();
    program
}

/// [`rich_program`] with its tier names left untranslated, so Google shows the tier as
/// secondary points (with a translated label) instead of in a text module.
pub(crate) fn rich_program_plain_tiers() -> Program {
    let mut program = rich_program();
    for table in program.design.localizations.values_mut() {
        table.remove("Gold");
    }
    program
}

/// A voided Gold member with the marketer's own member number, points about to expire, a
/// balance beyond Google's int32 and a join time with fractions of a second.
pub(crate) fn rich_member(program: &Program) -> Member {
    Member {
        id: MemberId::parse("mem_goldenrich234567").unwrap(),
        serial: SerialNumber::parse("goldenrichserial2345").unwrap(),
        external_id: Some("crm-000042".into()),
        name: "Grace \"Amazing\" Hopper".into(),
        status: MemberStatus::Voided,
        balance: 3_000_000_000,
        lifetime_points: 3_000_000_800,
        tier: Some("Gold".into()),
        version: 42,
        card_generation: 2,
        created_at: datetime!(2024-05-17 09:30:15.123456 UTC),
        expiring: Some(Expiring {
            points: 40,
            at: datetime!(2026-03-31 23:59:59 UTC),
        }),
        ..member(program)
    }
}
