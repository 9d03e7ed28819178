//! "Save to Google Wallet" links: `https://pay.google.com/gp/v/save/<jwt>`, the JWT signed
//! RS256 with the service account's key (google-wallet.md §7).
//!
//! The key is parsed once, when the signer is built, and signs through OpenSSL. A
//! `jsonwebtoken` `EncodingKey` (with `rust_crypto`) is no substitute: it keeps only the DER
//! bytes, re-parses them into an RSA key on every signature and signs with pure-Rust RSA.
//! Measured per CPU-second against `openssl speed -seconds 3 rsa2048` on a 2-core machine: this
//! signer 0.96-0.99, `jsonwebtoken::encode` with an `EncodingKey` built once about 0.13.

use std::fmt;

use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::Signer;
use serde::Serialize;
use serde_json::Value;

/// Everything before the JWT in a save link.
pub const SAVE_URL_PREFIX: &str = "https://pay.google.com/gp/v/save/";

/// Google's limit for a whole save link; browsers and apps truncate longer URLs.
pub const MAX_LINK_CHARS: usize = 1800;

#[derive(Debug, thiserror::Error)]
pub enum SaveLinkError {
    #[error(
        "the save link would be {length} characters, more than the {MAX_LINK_CHARS} Google allows; \
         insert the object through the API and link to it by id"
    )]
    TooLong { length: usize },
    #[error("the service-account key is not an RSA private key of at least 2048 bits")]
    InvalidKey(#[source] Option<openssl::error::ErrorStack>),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Signs save links with one service account's key.
pub struct SaveLinkSigner {
    key: PKey<Private>,
    /// base64url of `{"alg":"RS256",("kid",)"typ":"JWT"}`: the same for every link.
    header_b64: String,
    iss: String,
    origins: Vec<String>,
    /// Length of the base64url signature (fixed by the key size), so a link's length is known
    /// before it is signed.
    signature_chars: usize,
}

#[derive(Serialize)]
struct Claims<'a, P> {
    iss: &'a str,
    aud: &'static str,
    typ: &'static str,
    iat: i64,
    origins: &'a [String],
    payload: P,
}

#[derive(Serialize)]
struct ObjectRef<'a> {
    id: &'a str,
    #[serde(rename = "classId")]
    class_id: &'a str,
}

#[derive(Serialize)]
struct SkinnyPayload<'a> {
    #[serde(rename = "loyaltyObjects")]
    loyalty_objects: [ObjectRef<'a>; 1],
}

#[derive(Serialize)]
struct FullPayload<'a> {
    #[serde(rename = "loyaltyClasses", skip_serializing_if = "Option::is_none")]
    loyalty_classes: Option<[&'a Value; 1]>,
    #[serde(rename = "loyaltyObjects")]
    loyalty_objects: [&'a Value; 1],
}

impl SaveLinkSigner {
    /// `key` is the service account's RSA key, already parsed (a `PKey` clone shares it);
    /// `client_email` becomes `iss`, `private_key_id` the header's `kid`, and `origins` the
    /// web origins allowed to show Google's save button for these JWTs.
    pub fn new(
        key: PKey<Private>,
        client_email: &str,
        private_key_id: Option<&str>,
        origins: Vec<String>,
    ) -> Result<SaveLinkSigner, SaveLinkError> {
        if key.id() != Id::RSA || key.bits() < 2048 {
            return Err(SaveLinkError::InvalidKey(None));
        }
        let header = match private_key_id {
            Some(kid) => serde_json::json!({"alg": "RS256", "kid": kid, "typ": "JWT"}),
            None => serde_json::json!({"alg": "RS256", "typ": "JWT"}),
        };
        Ok(SaveLinkSigner {
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            iss: client_email.to_string(),
            origins,
            signature_chars: base64url_len(key.size()),
            key,
        })
    }

    /// Like `new`, from the PEM `private_key` of a service-account key file (PKCS#8 or PKCS#1).
    pub fn from_pem(
        private_key_pem: &[u8],
        client_email: &str,
        private_key_id: Option<&str>,
        origins: Vec<String>,
    ) -> Result<SaveLinkSigner, SaveLinkError> {
        let key = PKey::private_key_from_pem(private_key_pem)
            .map_err(|e| SaveLinkError::InvalidKey(Some(e)))?;
        SaveLinkSigner::new(key, client_email, private_key_id, origins)
    }

    /// A link to an object already inserted through the API: the JWT carries only the ids, so
    /// it stays short whatever the card holds. `iat` is seconds since the epoch.
    pub fn skinny_link(
        &self,
        class_id: &str,
        object_id: &str,
        iat: i64,
    ) -> Result<String, SaveLinkError> {
        self.link(
            SkinnyPayload {
                loyalty_objects: [ObjectRef {
                    id: object_id,
                    class_id,
                }],
            },
            iat,
        )
    }

    /// A link that carries the whole object (and class, if given), for when the Google API is
    /// not configured: Google inserts them when the link is opened. Fails with `TooLong`
    /// (before signing) when the URL would pass Google's 1,800 characters.
    pub fn full_link(
        &self,
        class: Option<&Value>,
        object: &Value,
        iat: i64,
    ) -> Result<String, SaveLinkError> {
        self.link(
            FullPayload {
                loyalty_classes: class.map(|c| [c]),
                loyalty_objects: [object],
            },
            iat,
        )
    }

    fn link<P: Serialize>(&self, payload: P, iat: i64) -> Result<String, SaveLinkError> {
        let claims = serde_json::to_vec(&Claims {
            iss: &self.iss,
            aud: "google",
            typ: "savetowallet",
            iat,
            origins: &self.origins,
            payload,
        })
        .context("serializing save link claims")?;
        let length = SAVE_URL_PREFIX.len()
            + self.header_b64.len()
            + 1
            + base64url_len(claims.len())
            + 1
            + self.signature_chars;
        if length > MAX_LINK_CHARS {
            return Err(SaveLinkError::TooLong { length });
        }
        let mut link = String::with_capacity(length);
        link.push_str(SAVE_URL_PREFIX);
        link.push_str(&self.header_b64);
        link.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut link);
        let signature = self.sign(&link.as_bytes()[SAVE_URL_PREFIX.len()..])?;
        link.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut link);
        Ok(link)
    }

    /// RS256: SHA-256 and PKCS#1 v1.5 padding, OpenSSL's default for RSA keys.
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SaveLinkError> {
        let mut signer =
            Signer::new(MessageDigest::sha256(), &self.key).context("starting RS256 signature")?;
        Ok(signer
            .sign_oneshot_to_vec(signing_input)
            .context("signing the save link")?)
    }
}

impl fmt::Debug for SaveLinkSigner {
    /// Names the account, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaveLinkSigner")
            .field("iss", &self.iss)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// Characters of unpadded base64 for `bytes` bytes.
fn base64url_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use openssl::rsa::Rsa;
    use openssl::sign::Verifier;
    use serde_json::json;

    use super::*;
    use crate::clock::OsRandom;
    use crate::domain::apple_ids::{AuthToken, SerialNumber};
    use crate::domain::ids::MemberId;
    use crate::domain::language::Language;
    use crate::domain::member::{Consent, Member, MemberStatus};
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
        let now = time::OffsetDateTime::now_utc();
        Member {
            id: MemberId::generate(&OsRandom),
            program_id: p.id.clone(),
            external_id: None,
            name: "Ada Lovelace".into(),
            email: None,
            phone: None,
            consent: Consent::default(),
            status: MemberStatus::Active,
            balance: 1200,
            lifetime_points: 1500,
            tier: Some("Gold".into()),
            version: 1,
            card_generation: 1,
            serial: SerialNumber::generate(&OsRandom),
            auth_token: AuthToken::generate(&OsRandom),
            created_at: now,
            updated_at: now,
            pass_modified: now,
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
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
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
            .skinny_link(
                object["classId"].as_str().unwrap(),
                object["id"].as_str().unwrap(),
                IAT,
            )
            .unwrap();
        assert!(link.len() < 1000, "{} characters", link.len());
    }

    #[test]
    fn predicted_length_matches_the_link() {
        let signer = signer();
        for n in 0..5 {
            let object = json!({"id": "1.x", "pad": "y".repeat(n)});
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
}
