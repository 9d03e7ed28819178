use std::collections::BTreeMap;
use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use serde_json::{json, Value};

use super::*;
use crate::domain::language::Language;
use crate::domain::member::Member;
use crate::domain::program::{Design, Program};
use crate::wallet::google::class::loyalty_class;
use crate::wallet::google::class::tests::{ctx, program};
use crate::wallet::google::object::loyalty_object;

const IAT: i64 = 1_767_225_600;

fn key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
}

fn signer() -> SaveLinkSigner {
    let pem = key().private_key_to_pem_pkcs8().unwrap();
    SaveLinkSigner::from_pem(
        &pem,
        "wallet@demo.iam.gserviceaccount.com",
        Some("key-1"),
        vec!["https://cards.example.com".into()],
    )
    .unwrap()
}

fn member(p: &Program) -> Member {
    Member {
        balance: 1200,
        lifetime_points: 1500,
        tier: Some("Gold".into()),
        version: 1,
        ..crate::domain::member::sample(&p.id)
    }
}

/// Checks the signature with the public key two independent ways and returns
/// (header, claims).
fn verify(link: &str) -> (Value, Value) {
    let jwt = link.strip_prefix(SAVE_URL_PREFIX).unwrap();
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    let public = PKey::public_key_from_pem(&key().public_key_to_pem().unwrap()).unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert!(verifier
        .verify_oneshot(&signature, input.as_bytes())
        .unwrap());

    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.set_audience(&["google"]);
    let data = jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_rsa_pem(&key().public_key_to_pem().unwrap()).unwrap(),
        &validation,
    )
    .unwrap();
    let (header, _) = input.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    (header, data.claims)
}

#[test]
fn skinny_links_verify_and_carry_only_ids() {
    let link = signer()
        .skinny_link("338.prg_abcdefghij234567", "338.abcdefghij234567abcd", IAT)
        .unwrap();
    assert!(link.len() < 1000, "{} characters", link.len());
    let (header, claims) = verify(&link);
    assert_eq!(
        header,
        json!({"alg": "RS256", "kid": "key-1", "typ": "JWT"})
    );
    assert_eq!(
        claims,
        json!({
            "iss": "wallet@demo.iam.gserviceaccount.com",
            "aud": "google",
            "typ": "savetowallet",
            "iat": IAT,
            "origins": ["https://cards.example.com"],
            "payload": {"loyaltyObjects": [{
                "id": "338.abcdefghij234567abcd",
                "classId": "338.prg_abcdefghij234567",
            }]},
        })
    );
    assert!(claims["iat"].is_i64());
}

#[test]
fn full_links_carry_the_object_and_stay_within_the_limit() {
    let p = program(Design::default(), &[("Silver", 0), ("Gold", 1000)]);
    let m = member(&p);
    let c = ctx();
    let object = loyalty_object(&p, &m, "PW1.abcdefghijklmnopqrstuvwxyz.0123456789", &c);
    let link = signer().full_link(None, &object, IAT).unwrap();
    assert!(link.len() <= MAX_LINK_CHARS);
    let (_, claims) = verify(&link);
    assert_eq!(claims["payload"], json!({"loyaltyObjects": [object]}));

    let class = loyalty_class(&p, &c);
    match signer().full_link(Some(&class), &object, IAT) {
        Ok(link) => {
            let (_, claims) = verify(&link);
            assert_eq!(claims["payload"]["loyaltyClasses"], json!([class]));
        }
        Err(SaveLinkError::TooLong { length }) => assert!(length > MAX_LINK_CHARS),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn many_long_localizations_are_too_long() {
    let mut localizations = BTreeMap::new();
    let mut languages = vec![Language::english()];
    for tag in ["de", "fr", "es", "it", "nl", "pt-BR"] {
        let lang = Language::parse(tag).unwrap();
        languages.push(lang.clone());
        localizations.insert(
            lang,
            BTreeMap::from([
                ("Points".to_string(), format!("Treuepunkte-{tag}")),
                (
                    "Gold".to_string(),
                    format!("Goldstatus für Stammgäste ({tag})"),
                ),
                ("Tier".to_string(), format!("Mitgliedsstufe-{tag}")),
                (
                    "Bean There Rewards".to_string(),
                    format!("Bean There Prämienprogramm für Kaffeeliebhaber ({tag})"),
                ),
            ]),
        );
    }
    let design = Design {
        languages,
        localizations,
        ..Design::default()
    };
    let p = program(design, &[("Silver", 0), ("Gold", 1000)]);
    let c = ctx();
    let object = loyalty_object(&p, &member(&p), "PW1.token", &c);
    let class = loyalty_class(&p, &c);
    let err = signer().full_link(Some(&class), &object, IAT).unwrap_err();
    let SaveLinkError::TooLong { length } = err else {
        panic!("{err}")
    };
    assert!(length > MAX_LINK_CHARS);
    // The same card by reference is always short.
    let link = signer()
        .skinny_link(&object.class_id, &object.id, IAT)
        .unwrap();
    assert!(link.len() < 1000, "{} characters", link.len());
}

#[test]
fn predicted_length_matches_the_link() {
    let signer = signer();
    let p = program(Design::default(), &[]);
    for n in 0..5 {
        let m = Member {
            name: "y".repeat(n),
            ..member(&p)
        };
        let object = loyalty_object(&p, &m, "PW1.token", &ctx());
        let link = signer.full_link(None, &object, IAT).unwrap();
        let jwt = link.strip_prefix(SAVE_URL_PREFIX).unwrap();
        let claims = jwt.split('.').nth(1).unwrap();
        let decoded = URL_SAFE_NO_PAD.decode(claims).unwrap();
        let predicted = SAVE_URL_PREFIX.len()
            + signer.header_b64.len()
            + base64url_len(decoded.len())
            + signer.signature_chars
            + 2;
        assert_eq!(link.len(), predicted);
    }
}

#[test]
fn unusable_keys_are_refused_and_never_printed() {
    assert!(matches!(
        SaveLinkSigner::from_pem(b"not a key", "a@b", None, vec![]),
        Err(SaveLinkError::InvalidKey(Some(_)))
    ));
    let small = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
    assert!(matches!(
        SaveLinkSigner::new(small, "a@b", None, vec![]),
        Err(SaveLinkError::InvalidKey(None))
    ));
    let s = SaveLinkSigner::new(key().clone(), "a@b", None, vec![]).unwrap();
    let printed = format!("{s:?}");
    assert!(printed.contains("a@b") && !printed.contains("PRIVATE"));
    let (header, _) = verify(&s.skinny_link("1.c", "1.o", IAT).unwrap());
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
}
