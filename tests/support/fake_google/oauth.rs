//! The stand-in's OAuth side: the token endpoint (`POST /token`, JWT-bearer grant, the
//! assertion checked against a trusted service account's public key and the stand-in's clock),
//! how it writes `expires_in`, and test service-account key files like Google's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::web;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use passwright::delivery::google::ServiceAccount;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{Reply, State};

/// How the token endpoint writes `expires_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresIn {
    Number(u64),
    /// As a JSON string, which some servers send.
    Text(u64),
}

impl ExpiresIn {
    fn seconds(self) -> u64 {
        match self {
            ExpiresIn::Number(s) | ExpiresIn::Text(s) => s,
        }
    }

    fn json(self) -> Value {
        match self {
            ExpiresIn::Number(s) => json!(s),
            ExpiresIn::Text(s) => json!(s.to_string()),
        }
    }
}

pub(super) struct Trusted {
    pub(super) client_email: String,
    pub(super) public_key_pem: Vec<u8>,
}

pub(super) fn token(
    state: &mut State,
    token_url: &str,
    now: OffsetDateTime,
    method: &str,
    body: &str,
) -> Reply {
    let refuse = |description: &str| {
        (
            400,
            json!({"error": "invalid_grant", "error_description": description}),
        )
    };
    if method != "POST" {
        return (405, json!({"error": "invalid_request"}));
    }
    let Ok(form) = web::Query::<HashMap<String, String>>::from_query(body) else {
        return (400, json!({"error": "invalid_request"}));
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (400, json!({"error": "unsupported_grant_type"}));
    }
    let Some(assertion) = form.get("assertion") else {
        return refuse("no assertion");
    };
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return refuse("the assertion is not a JWT");
    };
    let Some(account) = header.kid.as_ref().and_then(|kid| state.accounts.get(kid)) else {
        return refuse("Invalid JWT Signature.");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[&account.client_email]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // Checked below against this stand-in's clock, which tests move.
    validation.validate_exp = false;
    let key = DecodingKey::from_rsa_pem(&account.public_key_pem).unwrap();
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(error) => return refuse(&format!("bad assertion: {error}")),
    };
    let scope = claims["scope"].as_str().unwrap_or_default();
    if !scope
        .split(' ')
        .any(|s| s.ends_with("/auth/wallet_object.issuer"))
    {
        return (400, json!({"error": "invalid_scope"}));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return refuse("iat and exp must be integers");
    };
    let now_s = now.unix_timestamp();
    if exp <= iat || exp - iat > 3600 {
        return refuse("Invalid JWT: expiration must be within an hour of issue");
    }
    if iat > now_s + 60 || exp <= now_s {
        return refuse(
            "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
        );
    }
    state.tokens_issued += 1;
    let token = format!("test-{}", state.tokens_issued);
    let lifetime = state.expires_in;
    let expires = now + time::Duration::seconds(lifetime.seconds() as i64);
    state.tokens.insert(token.clone(), expires);
    (
        200,
        json!({"access_token": token, "expires_in": lifetime.json(), "token_type": "Bearer"}),
    )
}

/// A service-account key file like Google's, with a fresh RSA-2048 key and `token_uri`
/// pointing where asked, written to a temporary directory.
pub struct TestServiceAccount {
    pub client_email: String,
    pub private_key_id: String,
    pub json: String,
    pub public_key_pem: Vec<u8>,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestServiceAccount {
    pub fn generate(token_uri: &str) -> TestServiceAccount {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut id = [0u8; 20];
        openssl::rand::rand_bytes(&mut id).unwrap();
        let private_key_id = hex::encode(id);
        let client_email = "svc@test.iam.gserviceaccount.com".to_owned();
        let json = json!({
            "type": "service_account",
            "project_id": "passwright-test",
            "private_key_id": private_key_id,
            "private_key": String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
            "client_email": client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        })
        .to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service-account.json");
        std::fs::write(&path, &json).unwrap();
        TestServiceAccount {
            client_email,
            private_key_id,
            json,
            public_key_pem: key.public_key_to_pem().unwrap(),
            path,
            _dir: dir,
        }
    }

    /// The key file as passwright reads it.
    pub fn load(&self) -> Arc<ServiceAccount> {
        Arc::new(ServiceAccount::from_file(&self.path).unwrap())
    }
}
