//! Verification of Google Wallet's save/delete callbacks (google-wallet.md §9): the
//! `ECv2SigningOnly` envelope Google POSTs to a class's `callbackOptions.url`, checked the way
//! Tink's `PaymentMethodTokenRecipient` does. Replays are the caller's to catch: it stores the
//! returned nonce.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use serde::Deserialize;
use time::OffsetDateTime;

pub const PROTOCOL_VERSION: &str = "ECv2SigningOnly";

/// Both spellings Google has used: older pages say `GooglePayPasses`, newer `GoogleWalletPasses`.
/// Trying both is safe because the root signature covers the sender id.
pub const SENDER_IDS: [&str; 2] = ["GooglePayPasses", "GoogleWalletPasses"];

/// Google's unexpired `ECv2SigningOnly` root signing keys.
#[derive(Clone)]
pub struct RootKeys {
    keys: Vec<PKey<Public>>,
}

impl std::fmt::Debug for RootKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootKeys")
            .field("count", &self.keys.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RootKeysError {
    #[error("Google root keys JSON is malformed: {0}")]
    Malformed(String),
    #[error("Google root keys JSON holds no unexpired ECv2SigningOnly key")]
    NoUsableKey,
}

#[derive(Deserialize)]
struct KeysJson {
    keys: Vec<RootKeyJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootKeyJson {
    key_value: String,
    protocol_version: String,
    key_expiration: Option<Millis>,
}

impl RootKeys {
    /// Parses the JSON served at Google's keys URL, keeping the `ECv2SigningOnly` keys that have
    /// not expired at `now`. Keys without `keyExpiration` are kept (Tink drops them); a
    /// malformed key of our protocol fails the whole set, so a bad fetch cannot silently
    /// replace a good cache.
    pub fn from_json(json: &[u8], now: OffsetDateTime) -> Result<Self, RootKeysError> {
        let parsed: KeysJson =
            serde_json::from_slice(json).map_err(|e| RootKeysError::Malformed(e.to_string()))?;
        let mut keys = Vec::new();
        for key in parsed.keys {
            if key.protocol_version != PROTOCOL_VERSION {
                continue;
            }
            if let Some(expiration) = key.key_expiration {
                let expires_at = expiration.to_time().map_err(RootKeysError::Malformed)?;
                if expires_at <= now {
                    continue;
                }
            }
            keys.push(p256_public_key(&key.key_value).map_err(RootKeysError::Malformed)?);
        }
        if keys.is_empty() {
            return Err(RootKeysError::NoUsableKey);
        }
        Ok(RootKeys { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What a verified callback says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackMessage {
    pub class_id: String,
    pub object_id: String,
    pub event: CallbackEvent,
    /// Google retries, so the same callback can arrive more than once: de-duplicate on this.
    pub nonce: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackEvent {
    Saved,
    Deleted,
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("malformed callback: {0}")]
    Malformed(String),
    #[error("unsupported protocolVersion {0:?}, expected ECv2SigningOnly")]
    WrongProtocol(String),
    #[error("no intermediate key signature verifies with a Google root key for any sender id")]
    BadIntermediateSignature,
    #[error("the intermediate signing key expired at {0}")]
    IntermediateKeyExpired(OffsetDateTime),
    #[error("the message signature does not verify with the intermediate signing key")]
    BadSignature,
    #[error("the message expired at {0}")]
    MessageExpired(OffsetDateTime),
    #[error("unknown eventType {0:?}, expected \"save\" or \"del\"")]
    UnknownEventType(String),
}

/// Checks callbacks addressed to `recipient_id` (our issuer id) from any of `sender_ids`.
#[derive(Debug, Clone)]
pub struct CallbackVerifier {
    pub roots: RootKeys,
    pub sender_ids: Vec<String>,
    pub recipient_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    signature: String,
    intermediate_signing_key: IntermediateSigningKey,
    protocol_version: String,
    signed_message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntermediateSigningKey {
    signed_key: String,
    signatures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedKey {
    key_value: String,
    key_expiration: Millis,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedMessage {
    class_id: String,
    object_id: String,
    exp_time_millis: Millis,
    event_type: String,
    nonce: String,
}

impl CallbackVerifier {
    pub fn verify(
        &self,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<CallbackMessage, CallbackError> {
        let envelope: Envelope = parse_json(body, "envelope")?;
        if envelope.protocol_version != PROTOCOL_VERSION {
            return Err(CallbackError::WrongProtocol(envelope.protocol_version));
        }
        let intermediate = &envelope.intermediate_signing_key;
        let key_signatures = intermediate
            .signatures
            .iter()
            .map(|s| decode_base64(s, "intermediateSigningKey.signatures"))
            .collect::<Result<Vec<_>, _>>()?;
        let signature = decode_base64(&envelope.signature, "signature")?;

        // The root signature covers the sender id, so at most one configured spelling matches.
        let mut sender = None;
        for sender_id in &self.sender_ids {
            let signed = length_values(&[sender_id, PROTOCOL_VERSION, &intermediate.signed_key])?;
            let by_root = |sig: &Vec<u8>| self.roots.keys.iter().any(|k| verifies(k, sig, &signed));
            if key_signatures.iter().any(by_root) {
                sender = Some(sender_id);
                break;
            }
        }
        let sender_id = sender.ok_or(CallbackError::BadIntermediateSignature)?;

        let signed_key: SignedKey = parse_json(intermediate.signed_key.as_bytes(), "signedKey")?;
        let key_expires_at = signed_key
            .key_expiration
            .to_time()
            .map_err(CallbackError::Malformed)?;
        if key_expires_at <= now {
            return Err(CallbackError::IntermediateKeyExpired(key_expires_at));
        }
        let key = p256_public_key(&signed_key.key_value).map_err(CallbackError::Malformed)?;
        let signed = length_values(&[
            sender_id,
            &self.recipient_id,
            &envelope.protocol_version,
            &envelope.signed_message,
        ])?;
        if !verifies(&key, &signature, &signed) {
            return Err(CallbackError::BadSignature);
        }

        let message: SignedMessage =
            parse_json(envelope.signed_message.as_bytes(), "signedMessage")?;
        let expires_at = message
            .exp_time_millis
            .to_time()
            .map_err(CallbackError::Malformed)?;
        if expires_at <= now {
            return Err(CallbackError::MessageExpired(expires_at));
        }
        let event = match message.event_type.as_str() {
            "save" => CallbackEvent::Saved,
            "del" => CallbackEvent::Deleted,
            _ => return Err(CallbackError::UnknownEventType(message.event_type)),
        };
        Ok(CallbackMessage {
            class_id: message.class_id,
            object_id: message.object_id,
            event,
            nonce: message.nonce,
            expires_at,
        })
    }
}

/// Milliseconds since the Unix epoch; Google writes them as strings in keys and numbers in
/// messages, and nothing promises either, so both are accepted.
#[derive(Deserialize)]
#[serde(untagged)]
enum Millis {
    Number(i64),
    Text(String),
}

impl Millis {
    fn to_time(&self) -> Result<OffsetDateTime, String> {
        let ms = match self {
            Millis::Number(ms) => *ms,
            Millis::Text(text) => text
                .parse::<i64>()
                .map_err(|_| format!("{text:?} is not a time in milliseconds"))?,
        };
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|_| format!("{ms} ms is out of range"))
    }
}

fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, CallbackError> {
    serde_json::from_slice(bytes).map_err(|e| CallbackError::Malformed(format!("{what}: {e}")))
}

fn decode_base64(text: &str, what: &str) -> Result<Vec<u8>, CallbackError> {
    STANDARD
        .decode(text)
        .map_err(|e| CallbackError::Malformed(format!("{what}: {e}")))
}

/// A base64 DER SubjectPublicKeyInfo holding a P-256 key.
fn p256_public_key(spki_base64: &str) -> Result<PKey<Public>, String> {
    let der = STANDARD
        .decode(spki_base64)
        .map_err(|e| format!("keyValue: {e}"))?;
    let key = PKey::public_key_from_der(&der).map_err(|e| format!("keyValue: {e}"))?;
    let is_p256 = key.id() == Id::EC
        && key
            .ec_key()
            .is_ok_and(|ec| ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1));
    if !is_p256 {
        return Err("keyValue is not an EC P-256 public key".to_owned());
    }
    Ok(key)
}

/// The signed bytes: each part as a 4-byte little-endian length of its UTF-8 bytes, then the
/// bytes (Tink's `toLengthValue`).
fn length_values(parts: &[&str]) -> Result<Vec<u8>, CallbackError> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| 4 + p.len()).sum());
    for part in parts {
        let len = u32::try_from(part.len())
            .map_err(|_| CallbackError::Malformed("a signed field is over 4 GiB".to_owned()))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    Ok(out)
}

/// ECDSA-SHA256 over `data` with a DER `signature`. OpenSSL reports a signature that is not
/// valid DER as an error rather than a mismatch; either way it does not verify.
fn verifies(key: &PKey<Public>, signature: &[u8], data: &[u8]) -> bool {
    Verifier::new(MessageDigest::sha256(), key)
        .and_then(|mut v| v.verify_oneshot(signature, data))
        .unwrap_or(false)
}

#[cfg(test)]
#[path = "../../../tests/support/google_callbacks.rs"]
mod google_callbacks;

#[cfg(test)]
mod tests;
