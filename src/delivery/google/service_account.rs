//! The service-account key file Google hands out (JSON, google-wallet.md §6): who we are to
//! Google, where to get access tokens, and the RSA key that signs our OAuth assertions and
//! save links. The key is parsed once, when the file is read; it never prints.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::Signer;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

/// The `type` of a service-account key file.
pub const SERVICE_ACCOUNT_TYPE: &str = "service_account";

/// Why a key file cannot be used; the reader is an operator.
#[derive(Debug, thiserror::Error)]
pub enum ServiceAccountError {
    #[error("cannot read the Google service-account key file {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Google service-account key file is not the JSON object Google issues: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error(
        "the key file has type {found:?}; a Google service-account key has \"service_account\""
    )]
    WrongType { found: String },
    #[error("the Google service-account key file lacks {}", .missing.join(", "))]
    Missing { missing: Vec<&'static str> },
    #[error("private_key in the service-account key file is not a PEM private key")]
    InvalidKey(#[source] openssl::error::ErrorStack),
    #[error("private_key in the service-account key file is not an RSA key")]
    NotRsa,
    #[error("cannot sign with the service-account key")]
    Sign(#[source] openssl::error::ErrorStack),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Every field optional, so a missing one is named rather than reported as a serde error.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<SecretString>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// A parsed service-account key. Cheap to share behind an `Arc`.
pub struct ServiceAccount {
    client_email: String,
    private_key_id: String,
    token_uri: String,
    key: PKey<Private>,
    /// `{"alg":"RS256","typ":"JWT","kid":…}`, base64url: the same for every JWT we sign.
    header_b64: String,
}

impl ServiceAccount {
    pub fn from_file(path: &Path) -> Result<ServiceAccount, ServiceAccountError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServiceAccountError::Read {
            path: path.to_owned(),
            source,
        })?;
        ServiceAccount::from_json(&text)
    }

    pub fn from_json(json: &str) -> Result<ServiceAccount, ServiceAccountError> {
        // Every field is a string, so serde's messages never quote the key itself.
        let file: KeyFile = serde_json::from_str(json).map_err(ServiceAccountError::NotJson)?;
        if let Some(kind) = &file.kind {
            if kind != SERVICE_ACCOUNT_TYPE {
                return Err(ServiceAccountError::WrongType {
                    found: kind.clone(),
                });
            }
        }
        let given = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        for (name, present) in [
            ("type", file.kind.is_some()),
            ("client_email", given(&file.client_email)),
            (
                "private_key",
                file.private_key
                    .as_ref()
                    .is_some_and(|k| !k.expose_secret().trim().is_empty()),
            ),
            ("private_key_id", given(&file.private_key_id)),
            ("token_uri", given(&file.token_uri)),
        ] {
            if !present {
                missing.push(name);
            }
        }
        let (Some(client_email), Some(private_key), Some(private_key_id), Some(token_uri)) = (
            file.client_email,
            file.private_key,
            file.private_key_id,
            file.token_uri,
        ) else {
            return Err(ServiceAccountError::Missing { missing });
        };
        if !missing.is_empty() {
            return Err(ServiceAccountError::Missing { missing });
        }
        let key = PKey::private_key_from_pem(private_key.expose_secret().as_bytes())
            .map_err(ServiceAccountError::InvalidKey)?;
        if key.id() != Id::RSA {
            return Err(ServiceAccountError::NotRsa);
        }
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": private_key_id});
        Ok(ServiceAccount {
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            client_email,
            private_key_id,
            token_uri,
            key,
        })
    }

    /// The service account's e-mail address: `iss` of everything it signs.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The key's id, sent as `kid` so Google knows which of the account's keys to check with.
    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    /// Where access tokens come from, as the key file says.
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The parsed RSA key, for signers of our own (save links). Cloning it shares the key.
    pub fn private_key(&self) -> &PKey<Private> {
        &self.key
    }

    /// The public half, PEM (SubjectPublicKeyInfo), for checking what we signed.
    pub fn public_key_pem(&self) -> Result<Vec<u8>, ServiceAccountError> {
        self.key
            .public_key_to_pem()
            .map_err(ServiceAccountError::Sign)
    }

    /// A compact JWS over `claims`: RS256 with header `{alg, typ: JWT, kid}`. Signs with the
    /// key parsed at load time; re-parsing it per call costs about 40% of the throughput.
    pub fn sign_jwt<C: Serialize + ?Sized>(
        &self,
        claims: &C,
    ) -> Result<String, ServiceAccountError> {
        let claims = serde_json::to_vec(claims)
            .map_err(|e| anyhow::Error::new(e).context("serializing JWT claims"))?;
        let mut jwt = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 350);
        jwt.push_str(&self.header_b64);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut jwt);
        // RSA keys sign with PKCS#1 v1.5 padding by default: what RS256 is.
        let mut signer =
            Signer::new(MessageDigest::sha256(), &self.key).map_err(ServiceAccountError::Sign)?;
        signer
            .update(jwt.as_bytes())
            .map_err(ServiceAccountError::Sign)?;
        let signature = signer.sign_to_vec().map_err(ServiceAccountError::Sign)?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
        Ok(jwt)
    }
}

impl fmt::Debug for ServiceAccount {
    /// Names the account, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;
    use serde_json::{json, Value};

    fn rsa_pem() -> String {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    fn key_file(private_key: &str) -> Value {
        json!({
            "type": "service_account",
            "project_id": "demo",
            "private_key_id": "abc123",
            "private_key": private_key,
            "client_email": "svc@demo.iam.gserviceaccount.com",
            "client_id": "1234",
            "token_uri": "https://oauth2.googleapis.com/token",
        })
    }

    #[test]
    fn a_key_file_parses_signs_and_never_prints_its_key() {
        let pem = rsa_pem();
        let account = ServiceAccount::from_json(&key_file(&pem).to_string()).unwrap();
        assert_eq!(account.client_email(), "svc@demo.iam.gserviceaccount.com");
        assert_eq!(account.private_key_id(), "abc123");
        assert_eq!(account.token_uri(), "https://oauth2.googleapis.com/token");
        let printed = format!("{account:?}");
        assert!(printed.contains("svc@demo"));
        assert!(!printed.contains("PRIVATE KEY") && !printed.contains(&pem[40..80]));

        let jwt = account.sign_jwt(&json!({"iss": "me", "n": 1})).unwrap();
        let public = account.public_key_pem().unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(
            &jwt,
            &DecodingKey::from_rsa_pem(&public).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(data.header.kid.as_deref(), Some("abc123"));
        assert_eq!(data.header.typ.as_deref(), Some("JWT"));
        assert_eq!(data.claims, json!({"iss": "me", "n": 1}));
    }

    #[test]
    fn missing_fields_are_named() {
        let mut file = key_file("x");
        let fields = file.as_object_mut().unwrap();
        fields.remove("client_email");
        fields.remove("token_uri");
        fields.insert("private_key_id".into(), json!(""));
        let error = ServiceAccount::from_json(&file.to_string()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the Google service-account key file lacks client_email, private_key_id, token_uri"
        );
        let error = ServiceAccount::from_json("{}").unwrap_err();
        assert!(matches!(
            error,
            ServiceAccountError::Missing { ref missing } if missing.len() == 5
        ));
    }

    #[test]
    fn wrong_files_and_keys_are_refused() {
        let not_json = ServiceAccount::from_json("client_email=x").unwrap_err();
        assert!(matches!(not_json, ServiceAccountError::NotJson(_)));

        let mut file = key_file(&rsa_pem());
        file["type"] = json!("authorized_user");
        let wrong = ServiceAccount::from_json(&file.to_string()).unwrap_err();
        assert!(matches!(wrong, ServiceAccountError::WrongType { .. }));

        // A PEM frame around garbage (built up so that no key-looking text sits in the source).
        let label = "PRIVATE KEY";
        let junk = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
        let bad = ServiceAccount::from_json(&key_file(&junk).to_string()).unwrap_err();
        assert!(matches!(bad, ServiceAccountError::InvalidKey(_)));

        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let ec = String::from_utf8(ec.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let not_rsa = ServiceAccount::from_json(&key_file(&ec).to_string()).unwrap_err();
        assert!(matches!(not_rsa, ServiceAccountError::NotRsa));

        let missing = ServiceAccount::from_file(Path::new("/nonexistent/sa.json")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/sa.json"));
    }
}
