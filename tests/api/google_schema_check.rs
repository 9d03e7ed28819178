//! Every Google class, object, message and save-link JWT passwright builds is valid against
//! Google's discovery document, and the check itself catches broken ones.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use passwright::clock::OsRandom;
use passwright::domain::apple_ids::{AuthToken, PassTypeId, SerialNumber, TeamId};
use passwright::domain::ids::{MemberId, ProgramId};
use passwright::domain::language::Language;
use passwright::domain::member::{Consent, Member, MemberStatus};
use passwright::domain::program::{BackField, Design, EarnRules, Program, Tier, Tiers};
use passwright::wallet::google::class::loyalty_class;
use passwright::wallet::google::ids::{GoogleContext, IssuerId};
use passwright::wallet::google::object::{loyalty_object, message};
use passwright::wallet::google::save_link::{SaveLinkError, SaveLinkSigner, SAVE_URL_PREFIX};
use serde_json::{json, Value};

use crate::google_schema::{validate, validate_patch, validate_save_jwt_claims};

const TOKEN: &str = "PW1.b2n5v3kq7c4m2x6a.1.Xk3v9QpLm2Rt8Ws4Yz6Ab";

fn ctx(callback: bool) -> GoogleContext {
    GoogleContext::new(
        IssuerId::parse("3388000000022334455").unwrap(),
        "https://cards.example.com",
        callback.then(|| "https://cards.example.com/google/callbacks".to_string()),
    )
}

fn program(design: Design, tiers: &[&str]) -> Program {
    let now = passwright::clock::system_now();
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
                .zip(0..)
                .map(|(name, i)| Tier {
                    name: name.to_string(),
                    threshold: i * 500,
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

fn member(p: &Program, tier: Option<&str>, status: MemberStatus, external: Option<&str>) -> Member {
    let now = passwright::clock::system_now();
    Member {
        id: MemberId::generate(&OsRandom),
        program_id: p.id.clone(),
        external_id: external.map(str::to_string),
        name: "Ada Lovelace".into(),
        email: None,
        phone: None,
        consent: Consent::default(),
        status,
        balance: -25,
        lifetime_points: 1200,
        tier: tier.map(str::to_string),
        tier_held: false,
        version: 4,
        card_generation: 1,
        serial: SerialNumber::generate(&OsRandom),
        auth_token: AuthToken::generate(&OsRandom),
        created_at: now,
        updated_at: now,
        pass_modified: now,
        expiring: None,
    }
}

/// Three languages, translated labels, tier names and back fields, links and texts.
fn multilingual_design() -> Design {
    let de = Language::parse("de").unwrap();
    let fr = Language::parse("fr").unwrap();
    let table = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    Design {
        languages: vec![Language::english(), de.clone(), fr.clone()],
        localizations: BTreeMap::from([
            (
                de,
                table(&[
                    ("Points", "Punkte"),
                    ("Tier", "Stufe"),
                    ("Gold", "Gold-Stufe"),
                    ("Bean There Rewards", "Bean There Prämien"),
                    ("Opening hours", "Öffnungszeiten"),
                    ("Website", "Webseite"),
                ]),
            ),
            (
                fr,
                table(&[
                    ("Points", "Points"),
                    ("Gold", "Or"),
                    ("Member number", "Numéro de membre"),
                ]),
            ),
        ]),
        back_fields: vec![
            BackField {
                key: "hours".into(),
                label: "Opening hours".into(),
                value: "Mon-Fri 7:00-19:00\nSat 8:00-14:00".into(),
            },
            BackField {
                key: "web".into(),
                label: "Website".into(),
                value: "https://beans.example/rewards".into(),
            },
            BackField {
                key: "mail".into(),
                label: "Write to us".into(),
                value: "mailto:hello@beans.example".into(),
            },
        ],
        ..Design::default()
    }
}

/// Checks what Google would receive: the resource's JSON.
fn assert_valid(schema: &str, resource: &impl serde::Serialize) {
    let value = serde_json::to_value(resource).unwrap();
    if let Err(errors) = validate(schema, &value) {
        panic!(
            "{schema} is not valid:\n  {}\n{value:#}",
            errors.join("\n  ")
        );
    }
}

fn claims_of(link: &str) -> Value {
    let jwt = link.strip_prefix(SAVE_URL_PREFIX).unwrap();
    let claims = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
}

#[test]
fn classes_objects_messages_and_save_links_match_the_discovery_document() {
    let programs = [
        program(Design::default(), &[]),
        program(Design::default(), &["Bronze", "Silver", "Gold"]),
        program(
            Design::default(),
            &["Bronze", "Platinum Connoisseur", "Founding Member Circle"],
        ),
        program(multilingual_design(), &["Bronze", "Gold"]),
    ];
    let pem = PKey::from_rsa(Rsa::generate(2048).unwrap())
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let signer = SaveLinkSigner::from_pem(
        &pem,
        "wallet@demo.iam.gserviceaccount.com",
        Some("k1"),
        vec!["https://cards.example.com".into()],
    )
    .unwrap();
    let mut full_links = 0;
    for (i, p) in programs.iter().enumerate() {
        for callback in [false, true] {
            let c = ctx(callback);
            let class = loyalty_class(p, &c);
            assert_valid("LoyaltyClass", &class);

            let tiers: Vec<Option<&str>> = std::iter::once(None)
                .chain(p.tiers.as_slice().iter().map(|t| Some(t.name.as_str())))
                .collect();
            for tier in tiers {
                for status in [MemberStatus::Active, MemberStatus::Voided] {
                    for external in [None, Some("crm-000042")] {
                        let m = member(p, tier, status, external);
                        let object = loyalty_object(p, &m, TOKEN, &c);
                        assert_valid("LoyaltyObject", &object);

                        let skinny = signer
                            .skinny_link(&object.class_id, &object.id, 1_767_225_600)
                            .unwrap();
                        validate_save_jwt_claims(&claims_of(&skinny))
                            .unwrap_or_else(|e| panic!("skinny link claims: {e:?}"));
                        for with_class in [None, Some(&class)] {
                            match signer.full_link(with_class, &object, 1_767_225_600) {
                                Ok(link) => {
                                    full_links += 1;
                                    validate_save_jwt_claims(&claims_of(&link)).unwrap_or_else(
                                        |e| panic!("program {i}: full link claims: {e:?}"),
                                    );
                                }
                                Err(SaveLinkError::TooLong { .. }) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(full_links > 0, "no full link was short enough to check");

    for notify in [true, false] {
        let m = message(
            "tier-gold-1",
            "Welcome to Gold",
            "You now earn double points.",
            notify,
        );
        assert_valid("Message", &m);
    }
    // A PATCH body carries only what changed.
    validate_patch(
        "LoyaltyObject",
        &json!({"loyaltyPoints": {"label": "Points", "balance": {"int": 40}}, "notifyPreference": "NOTIFY_ON_UPDATE"}),
    )
    .unwrap();
}

#[test]
fn the_check_rejects_what_google_would_refuse() {
    let p = program(multilingual_design(), &["Bronze", "Gold"]);
    let c = ctx(true);
    let class = serde_json::to_value(loyalty_class(&p, &c)).unwrap();
    let object = serde_json::to_value(loyalty_object(
        &p,
        &member(&p, Some("Gold"), MemberStatus::Active, None),
        TOKEN,
        &c,
    ))
    .unwrap();
    assert_valid("LoyaltyClass", &class);
    assert_valid("LoyaltyObject", &object);

    // Each breakage must be reported, naming the place.
    let broken = |schema: &str, base: &Value, change: &dyn Fn(&mut Value), expect: &str| {
        let mut v = base.clone();
        change(&mut v);
        let errors = validate(schema, &v).expect_err(expect);
        assert!(
            errors.iter().any(|e| e.contains(expect)),
            "expected an error mentioning {expect:?}, got {errors:?}"
        );
    };
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["programNmae"] = json!("typo");
        },
        "programNmae",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["reviewStatus"] = json!("PUBLISHED");
        },
        "PUBLISHED",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["reviewStatus"] = json!("underReview");
        },
        "deprecated",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v.as_object_mut().unwrap().remove("programLogo");
        },
        "programLogo",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["programLogo"]["privateImageId"] = json!("img");
        },
        "exactly one",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["programLogo"]["sourceUri"]["uri"] = json!("http://x.example/a.png");
        },
        "HTTPS",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["hexBackgroundColor"] = json!("rgb(1, 2, 3)");
        },
        "hexBackgroundColor",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["version"] = json!(3);
        },
        "expected a string",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["wordMark"] = v["programLogo"].clone();
        },
        "deprecated",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["textModulesData"][0]["id"] = json!("back.hours");
        },
        "back.hours",
    );
    broken(
        "LoyaltyClass",
        &class,
        &|v| {
            v["textModulesData"][0]["localizedHeader"]["translatedValues"][0]["lang"] = json!("de");
        },
        "lang",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v.as_object_mut().unwrap().remove("state");
        },
        "state",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["state"] = json!("VOIDED");
        },
        "VOIDED",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["id"] = json!("my object");
        },
        "issuerId",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["loyaltyPoints"]["balance"]["int"] = json!("120");
        },
        "expected an integer",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["loyaltyPoints"]["balance"]["int"] = json!(3_000_000_000i64);
        },
        "expected an integer",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["loyaltyPoints"]["balance"]["string"] = json!("x");
        },
        "exactly one",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["loyaltyPoints"]
                .as_object_mut()
                .unwrap()
                .remove("balance");
        },
        "balance",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["barcode"]["type"] = json!("QR");
        },
        "QR",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["barcode"].as_object_mut().unwrap().remove("type");
        },
        "type",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["textModulesData"] = json!({"id": "tier"});
        },
        "expected an array",
    );
    broken(
        "LoyaltyObject",
        &object,
        &|v| {
            v["accountName"] = json!(["Ada"]);
        },
        "expected a string",
    );
    broken(
        "Message",
        &serde_json::to_value(message("m", "h", "b", true)).unwrap(),
        &|v| {
            v["messageType"] = json!("NOTIFY");
        },
        "NOTIFY",
    );

    // Save-link claims.
    let good = json!({
        "iss": "wallet@demo.iam.gserviceaccount.com",
        "aud": "google",
        "typ": "savetowallet",
        "iat": 1_767_225_600,
        "origins": ["https://cards.example.com"],
        "payload": {"loyaltyObjects": [object.clone()], "loyaltyClasses": [class.clone()]},
    });
    validate_save_jwt_claims(&good).unwrap();
    let claims_broken = |change: &dyn Fn(&mut Value), expect: &str| {
        let mut v = good.clone();
        change(&mut v);
        let errors = validate_save_jwt_claims(&v).expect_err(expect);
        assert!(
            errors.iter().any(|e| e.contains(expect)),
            "expected an error mentioning {expect:?}, got {errors:?}"
        );
    };
    claims_broken(&|v| v["iat"] = json!("1767225600"), "iat");
    claims_broken(&|v| v["aud"] = json!("https://google.com"), "aud");
    claims_broken(&|v| v["typ"] = json!("JWT"), "typ");
    claims_broken(
        &|v| v["origins"] = json!("https://cards.example.com"),
        "origins",
    );
    claims_broken(&|v| v["exp"] = json!(1), "exp");
    claims_broken(
        &|v| v["payload"]["loyaltyCards"] = json!([]),
        "loyaltyCards",
    );
    claims_broken(
        &|v| v["payload"]["loyaltyObjects"][0]["state"] = json!("GONE"),
        "GONE",
    );
    claims_broken(
        &|v| v["payload"]["loyaltyObjects"] = json!([{"id": "1.x", "classId": "1.c", "colour": 1}]),
        "colour",
    );
}
