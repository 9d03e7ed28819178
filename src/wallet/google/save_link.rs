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

use super::resources::{LoyaltyClass, LoyaltyObject};

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
    loyalty_classes: Option<[&'a LoyaltyClass; 1]>,
    #[serde(rename = "loyaltyObjects")]
    loyalty_objects: [&'a LoyaltyObject; 1],
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
        class: Option<&LoyaltyClass>,
        object: &LoyaltyObject,
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
mod tests;
