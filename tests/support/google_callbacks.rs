//! Signs Google Wallet save/delete callbacks the way Google does (`ECv2SigningOnly`,
//! google-wallet.md §9), with our own P-256 "root" and "intermediate" keys, so tests can serve
//! a keys JSON and POST realistic callbacks.
//!
//! The one envelope builder: the unit tests of `src/wallet/google/callback.rs` include this file
//! with `#[path]`, and so can the integration tests. It only uses crates both see and nothing
//! from passwright, and its length-value encoding is written out again on purpose, so a mistake
//! in the verifier's cannot hide behind a shared helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde_json::{json, Value};

pub const PROTOCOL_VERSION: &str = "ECv2SigningOnly";

/// Both spellings Google has used for the sender id.
pub const SENDER_IDS: [&str; 2] = ["GooglePayPasses", "GoogleWalletPasses"];

/// 2100-01-01T00:00:00Z: the root key's expiry in `keys_json`, later than any pinned test clock.
pub const FAR_FUTURE_MS: i64 = 4_102_444_800_000;

pub struct TestCallbackKeys {
    pub root: PKey<Private>,
    pub intermediate: PKey<Private>,
}

impl TestCallbackKeys {
    pub fn generate() -> Self {
        TestCallbackKeys {
            root: p256(),
            intermediate: p256(),
        }
    }

    /// The root keys JSON as Google serves it from its keys URL.
    pub fn keys_json(&self) -> String {
        json!({
            "keys": [{
                "keyValue": spki_base64(&self.root),
                "protocolVersion": PROTOCOL_VERSION,
                "keyExpiration": FAR_FUTURE_MS.to_string(),
            }]
        })
        .to_string()
    }

    /// A callback body: `message` (see [`message`]) signed by the intermediate key, whose
    /// `signedKey` expires at `key_expiration_ms` and is signed by the root key.
    pub fn envelope(
        &self,
        sender_id: &str,
        recipient_id: &str,
        message: &Value,
        key_expiration_ms: i64,
    ) -> String {
        let signed_key = json!({
            "keyValue": spki_base64(&self.intermediate),
            "keyExpiration": key_expiration_ms.to_string(),
        })
        .to_string();
        let signed_message = message.to_string();
        let key_signature = sign(
            &self.root,
            &length_values(&[sender_id, PROTOCOL_VERSION, &signed_key]),
        );
        let signature = sign(
            &self.intermediate,
            &length_values(&[sender_id, recipient_id, PROTOCOL_VERSION, &signed_message]),
        );
        json!({
            "signature": signature,
            "intermediateSigningKey": {
                "signedKey": signed_key,
                "signatures": [key_signature],
            },
            "protocolVersion": PROTOCOL_VERSION,
            "signedMessage": signed_message,
        })
        .to_string()
    }
}

/// A `signedMessage` as Google sends it; `event_type` is `save` or `del`.
pub fn message(
    class_id: &str,
    object_id: &str,
    event_type: &str,
    nonce: &str,
    exp_time_millis: i64,
) -> Value {
    json!({
        "classId": class_id,
        "objectId": object_id,
        "expTimeMillis": exp_time_millis,
        "eventType": event_type,
        "nonce": nonce,
    })
}

fn p256() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn spki_base64(key: &PKey<Private>) -> String {
    STANDARD.encode(key.public_key_to_der().unwrap())
}

/// Base64 of a DER ECDSA-SHA256 signature.
fn sign(key: &PKey<Private>, data: &[u8]) -> String {
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    STANDARD.encode(signer.sign_oneshot_to_vec(data).unwrap())
}

/// Each part as a 4-byte little-endian byte length followed by its UTF-8 bytes.
fn length_values(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&u32::try_from(part.len()).unwrap().to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}
