use super::*;
use crate::domain::program::Tier;

fn tiers() -> Tiers {
    let t = |name: &str, threshold| Tier {
        name: name.into(),
        threshold,
        design: None,
    };
    Tiers::validated(vec![t("Bronze", 0), t("Gold", 500)]).unwrap()
}

#[test]
fn columns_are_guessed_from_their_headings() {
    let table = read_table(
        "\u{feff}Vorname;Nachname;E-Mail;Mobile;Kundennummer;Punkte;Newsletter;Notes\nAda;Lovelace;ada@example.com;0151 1234567;K-1;250;ja;x\n"
            .as_bytes(),
    )
    .unwrap();
    let mapping = Mapping::guessed(&table);
    assert_eq!(
        mapping.columns,
        [
            Target::FirstName,
            Target::LastName,
            Target::Email,
            Target::Phone,
            Target::ExternalId,
            Target::Balance,
            Target::ConsentEmail,
            Target::Ignore
        ]
    );
    let with_country = Mapping {
        country: Some("49".into()),
        ..mapping
    };
    let checked = check(&table, &with_country, &tiers(), &Existing::default());
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    let row = &checked.good[0];
    assert_eq!(row.member.name, "Ada Lovelace");
    assert_eq!(row.member.phone.as_ref().unwrap().as_str(), "+491511234567");
    assert_eq!(row.balance, 250);
    assert!(row.member.consent.email);
}

#[test]
fn problem_rows_are_set_aside_with_what_is_wrong() {
    let table = read_table(
        b"name,email,phone,tier,points\n\
          Ada,ada@example.com,+4915112345678,Gold,10\n\
          Bob,not-an-email,,,\n\
          Cy,cy@example.com,0151 999,,\n\
          Dee,ADA@example.com,,,\n\
          Eve,eve@example.com,,Platinum,\n\
          Fay,fay@example.com,,,lots\n\
          Gil,known@example.com,,,\n\
          ,,,,\n",
    )
    .unwrap();
    let mapping = Mapping::guessed(&table);
    let mut existing = Existing::default();
    existing.emails.insert("known@example.com".into());
    let checked = check(&table, &mapping, &tiers(), &existing);
    assert_eq!(checked.good.len(), 1);
    assert_eq!(checked.empty, 1);
    let found: Vec<(usize, &str)> = checked
        .problems
        .iter()
        .map(|p| (p.row, p.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (3, "email"),
            (4, "phone"),
            (5, "email"),
            (6, "tier"),
            (7, "points"),
            (8, "email")
        ]
    );
    let words: Vec<&str> = checked
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(words[0], "\"not-an-email\" is not an email address.");
    assert_eq!(
        words[1],
        "\"0151 999\" has no country code: choose the country for numbers without +."
    );
    assert_eq!(words[2], "ada@example.com is also on row 2.");
    assert_eq!(
        words[3],
        "There is no tier \"Platinum\"; the tiers are Bronze, Gold."
    );
    assert_eq!(
        words[5],
        "known@example.com is a member already; the row is left out."
    );
    assert!(Mapping {
        columns: vec![Target::Email],
        country: None
    }
    .problems()[0]
        .contains("names"));
}

#[test]
fn phones_are_read_as_people_write_them() {
    assert_eq!(phone_in("+44 20 7946 0958", Some("49")), "+44 20 7946 0958");
    assert_eq!(phone_in("0044 20 7946 0958", None), "+442079460958");
    assert_eq!(phone_in("030 1234567", Some("49")), "+49301234567");
    assert_eq!(phone_in("030 1234567", None), "030 1234567");
}
