//! Golden tests for the cut-down class and object a full save link falls back to when the whole
//! card would not fit: the exact JSON bytes for fixed programs and members, as SHA-256 hashes
//! captured from the code when they were written (the whole class and object are pinned in
//! `wallet::google`'s golden tests).

use crate::wallet::golden;
use crate::wallet::google::class::loyalty_class;
use crate::wallet::google::ids::{GoogleContext, IssuerId};
use crate::wallet::google::object::loyalty_object;

const TOKEN: &str = "PW1.goldenserial23456723.1.FixedGoldenToken0001";

fn ctx() -> GoogleContext {
    GoogleContext::new(
        IssuerId::parse("3388000000012345678").unwrap(),
        "https://cards.example.com/",
        Some("https://cards.example.com/google/callbacks".to_string()),
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
fn essentials_bytes_are_unchanged() {
    let c = ctx();
    for (program, member, class_hash, object_hash) in [
        (
            golden::program(),
            golden::member as fn(&_) -> _,
            "cc91f492b173ec9c71095669229c4d350f5b6ddce0d8b826013d4e8049d43069",
            "ec1bf860a481541bec666429d65b3aebbf9542ec0c8f4314ccd16899e4269ea6",
        ),
        (
            golden::rich_program(),
            golden::rich_member,
            "bd3ba25c78d8e4c8ce072357534ee1f9b454ab51be103823c915f1698970fdf7",
            "cff7974565e5d5ffd12af6a90b70ed760011051b65359179cf69f75ff4320f37",
        ),
        (
            golden::rich_program_plain_tiers(),
            golden::rich_member,
            "bd3ba25c78d8e4c8ce072357534ee1f9b454ab51be103823c915f1698970fdf7",
            "7e3bf65fc8dfa234f371113c137d3eb17b9a537c1594bebc2441dfb81f1e319c",
        ),
    ] {
        let member = member(&program);
        let class = loyalty_class(&program, &c).essentials();
        assert_golden(&serde_json::to_vec(&class).unwrap(), class_hash);
        let object = loyalty_object(&program, &member, TOKEN, &c).essentials();
        assert_golden(&serde_json::to_vec(&object).unwrap(), object_hash);
    }
}
