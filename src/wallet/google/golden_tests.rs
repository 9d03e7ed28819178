//! Golden tests: the exact JSON bytes (`serde_json::to_vec`) of the loyalty classes, objects and
//! messages built for fixed programs and members, as SHA-256 hashes captured from the code when
//! they were written. These bytes are what the walletobjects API and full save links receive;
//! a change that alters them fails here. If the change is meant, say so in its commit and
//! update the hash (the failure prints the new JSON).

use crate::wallet::golden;
use crate::wallet::google::class::loyalty_class;
use crate::wallet::google::ids::{GoogleContext, IssuerId};
use crate::wallet::google::object::{loyalty_object, message};

const TOKEN: &str = "PW1.goldenserial23456723.1.FixedGoldenToken0001";

fn ctx(callback: bool) -> GoogleContext {
    GoogleContext::new(
        IssuerId::parse("3388000000012345678").unwrap(),
        "https://cards.example.com/",
        callback.then(|| "https://cards.example.com/google/callbacks".to_string()),
    )
}

fn assert_golden(bytes: &[u8], expected: &str) {
    assert_eq!(
        hex::encode(openssl::sha::sha256(bytes)),
        expected,
        "{}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn sample_class_and_object_bytes_are_unchanged() {
    let program = golden::program();
    let member = golden::member(&program);
    let c = ctx(false);
    assert_golden(
        &serde_json::to_vec(&loyalty_class(&program, &c)).unwrap(),
        "77c5fea98655c7d791246889394ee73bf40f5fdf2f737033305a9f9b61279b90",
    );
    // Bronze fits a balance: the tier shows as secondary points.
    assert_golden(
        &serde_json::to_vec(&loyalty_object(&program, &member, TOKEN, &c)).unwrap(),
        "ec1bf860a481541bec666429d65b3aebbf9542ec0c8f4314ccd16899e4269ea6",
    );
    let no_tier = crate::domain::member::Member {
        tier: None,
        ..member
    };
    assert_golden(
        &serde_json::to_vec(&loyalty_object(&program, &no_tier, TOKEN, &c)).unwrap(),
        "f9905b6b07f97525dac5036078dbe6d2516f4089ff93499c875bfdba11afe922",
    );
}

#[test]
fn rich_class_and_object_bytes_are_unchanged() {
    let program = golden::rich_program();
    let member = golden::rich_member(&program);
    let c = ctx(true);
    // Translations, links and text modules, a callback.
    assert_golden(
        &serde_json::to_vec(&loyalty_class(&program, &c)).unwrap(),
        "8418f00a303e08662bc37e8e9013bb096db73fffa9f3b76072620cfba12c5290",
    );
    // Inactive, own member number, a string balance, the translated tier in a text module.
    assert_golden(
        &serde_json::to_vec(&loyalty_object(&program, &member, TOKEN, &c)).unwrap(),
        "f7424d7bbf4a55b8cb869705f46ac060570d53f4dd556553c9d8cde59289c3e4",
    );
    // Untranslated tier names: secondary points, with a translated label.
    let program = golden::rich_program_plain_tiers();
    assert_golden(
        &serde_json::to_vec(&loyalty_object(&program, &member, TOKEN, &c)).unwrap(),
        "693b1a4e109692493a937bfb48ea44c93f6a426371df8c293615756ef16b4e68",
    );
}

#[test]
fn message_bytes_are_unchanged() {
    let notify = message(
        "tier-gold-42",
        "Welcome to Gold",
        "Your card is now \"Gold\".",
        true,
    );
    assert_eq!(
        serde_json::to_string(&notify).unwrap(),
        r#"{"body":"Your card is now \"Gold\".","header":"Welcome to Gold","id":"tier-gold-42","messageType":"TEXT_AND_NOTIFY"}"#
    );
    let quiet = message(
        "balance-43",
        "Points updated",
        "You now have 3 points.",
        false,
    );
    assert_eq!(
        serde_json::to_string(&quiet).unwrap(),
        r#"{"body":"You now have 3 points.","header":"Points updated","id":"balance-43","messageType":"TEXT"}"#
    );
}
