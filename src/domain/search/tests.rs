use time::macros::datetime;

use super::*;
use crate::clock::OsRandom;
use crate::domain::apple_ids::{PassTypeId, SerialNumber, TeamId};
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::ProgramId;
use crate::domain::member::{Member, NewMember};
use crate::domain::program::Program;

fn member(name: &str, email: Option<&str>, phone: Option<&str>, external: Option<&str>) -> Member {
    let program = Program::new(
        ProgramId::parse("prg_aaaaaaaaaaaaaaaa").unwrap(),
        "Bean There".into(),
        "Bean There".into(),
        (
            PassTypeId::parse("pass.com.example.loyalty").unwrap(),
            TeamId::parse("ABCDE12345").unwrap(),
        ),
        datetime!(2026-12-01 10:00 UTC),
    );
    let mut m = Member::enroll(
        &program,
        NewMember {
            external_id: external.map(str::to_string),
            name: name.into(),
            email: email.map(|e| EmailAddress::parse(e).unwrap()),
            phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
            consent: Default::default(),
        },
        &OsRandom,
        datetime!(2026-12-01 10:00 UTC),
    );
    m.serial = SerialNumber::parse("abcdefghjkmnpqrs2345").unwrap();
    m
}

/// Whether a search for `typed` finds a member with `terms`, as the store looks it up.
fn finds(terms: &[String], typed: &str) -> bool {
    prefixes(typed)
        .iter()
        .any(|p| terms.iter().any(|t| t.starts_with(p.as_str())))
}

#[test]
fn folding_drops_case_and_accents_in_every_script() {
    assert_eq!(fold("  Jürgen   MÜLLER "), "jurgen muller");
    assert_eq!(fold("ÉLODIE Çelik"), "elodie celik");
    assert_eq!(fold("ΣΟΦΊΑ"), "σοφια");
    // Letters with a mark of their own fold too; a search folds the same way, so it finds.
    assert_eq!(fold("Дмитрий"), fold("дмитрий"));
    assert_eq!(fold("محمد"), "محمد");
}

#[test]
fn a_member_is_found_by_the_start_of_each_word_email_id_phone_and_card_code() {
    let m = member(
        "Anna-Lena Schmidt Özdemir",
        Some("Anna.S@Example.com"),
        Some("+49 151 1234 5678"),
        Some("K-10042"),
    );
    let t = terms((&m).into());
    for typed in [
        "anna",
        "ANNA-L",
        "lena",
        "lena schm",
        "schmidt",
        "ozd",
        "Özdemir",
        "anna.s@",
        "k-100",
        "+49 151 12",
        "0049151",
        "0151 1234",
        "151 1234 5678",
        "ABCD EFGH",
        "abcd-efgh-jk",
    ] {
        assert!(finds(&t, typed), "{typed:?} should find {t:?}");
    }
    for typed in [
        "nna",
        "midt",
        "example.com",
        "1234 5678",
        "+48",
        "bcdefgh",
        "10042",
    ] {
        assert!(!finds(&t, typed), "{typed:?} should not find {t:?}");
    }
}

#[test]
fn national_numbers_keep_their_own_leading_zero_and_codes_have_one_to_three_digits() {
    // Italy keeps the 0 of a landline in E.164.
    let it = terms((&member("A", None, Some("+39 06 1234 5678"), None)).into());
    assert!(finds(&it, "06 1234"));
    assert!(it.contains(&"0612345678".to_string()));
    // One digit (+1), three digits (+353).
    let us = terms((&member("B", None, Some("+1 415 555 0100"), None)).into());
    assert!(us.contains(&"4155550100".to_string()));
    let ie = terms((&member("C", None, Some("+353 87 123 4567"), None)).into());
    assert!(ie.contains(&"871234567".to_string()));
    assert!(finds(&ie, "087 123"));
}

#[test]
fn terms_have_no_repeats_and_long_text_is_cut() {
    let long = "x".repeat(90);
    let t = terms((&member(&long, None, None, Some(&long))).into());
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t.iter().all(|term| term.chars().count() <= 64));
    assert!(finds(&t, &long), "a long search is cut the same way");
}

#[test]
fn prefixes_are_few_and_none_covers_another() {
    assert!(prefixes("   ").is_empty());
    assert_eq!(prefixes("Anna"), vec!["anna"]);
    assert_eq!(prefixes("0151 123"), vec!["0151 123", "151123"]);
    assert_eq!(prefixes("+49 151"), vec!["+49 151", "+49151"]);
}

#[test]
fn a_prefix_range_ends_after_everything_that_starts_with_it() {
    assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
    assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
    assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(prefix_end("\u{10FFFF}"), None);
    let end = prefix_end("mül").unwrap();
    assert!("müller" < end.as_str() && "mül\u{10FFFF}" < end.as_str());
    assert!("müm" >= end.as_str() && "mün" >= end.as_str());
}
