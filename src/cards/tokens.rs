//! Signed tokens: what a card's barcode carries, and the secret part of a pass download link.
//! Both are HMAC-SHA256 under keys derived from one service key, so they can be checked
//! without the database and one never stands in for the other.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::apple_ids::SerialNumber;
use crate::domain::ids::{base32, is_base32, ProgramId};

type HmacSha256 = Hmac<Sha256>;

const CARD_PREFIX: &str = "PW1";
/// 16 bytes of MAC: forging one by guessing is out of reach.
const MAC_BYTES: usize = 16;
const MAC_CHARS: usize = 26;

/// The keys, derived from the service key with fixed labels.
#[derive(Clone)]
pub struct TokenKeys {
    card: Vec<u8>,
    link: Vec<u8>,
    console: Vec<u8>,
    sample: SampleKey,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a passwright card code")]
    Malformed,
    #[error("the code's signature does not match")]
    BadSignature,
}

/// What a valid token names. Whether that card still exists and is still at this
/// generation is for the caller to check against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaim {
    pub serial: SerialNumber,
    pub generation: i64,
}

impl TokenKeys {
    pub fn derive(service_key: &[u8]) -> anyhow::Result<Self> {
        if service_key.len() < 32 {
            anyhow::bail!("the token key must be at least 32 bytes");
        }
        Ok(TokenKeys {
            card: mac(service_key, &[b"passwright card token v1"]),
            link: mac(service_key, &[b"passwright download link v1"]),
            console: mac(service_key, &[b"passwright console link v1"]),
            sample: SampleKey(mac(service_key, &[b"passwright sample link v1"])),
        })
    }

    /// The key console links (invitations, password resets) are signed with: derived from
    /// the same service key under a label of its own (`accounts::links`).
    pub fn console_link_key(&self) -> &[u8] {
        &self.console
    }

    /// The key sample links are signed with (the designer's "send a sample to my phone").
    pub fn sample_key(&self) -> &SampleKey {
        &self.sample
    }

    /// `PW1-<serial>-<generation>-<mac>`: short enough for a QR code at low density, only
    /// characters that are safe in ISO-8859-1 and in URLs.
    pub fn card_token(&self, serial: &SerialNumber, generation: i64) -> String {
        let g = generation.to_string();
        let m = base32(
            &mac(
                &self.card,
                &[serial.as_str().as_bytes(), b"|", g.as_bytes()],
            )[..MAC_BYTES],
        );
        format!("{CARD_PREFIX}-{serial}-{g}-{m}")
    }

    pub fn verify_card_token(&self, token: &str) -> Result<TokenClaim, TokenError> {
        let token = token.trim();
        let mut parts = token.split('-');
        let (Some(CARD_PREFIX), Some(serial), Some(g), Some(m), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        let claim = claim(serial, g)?;
        check_mac(&self.card, &[serial.as_bytes(), b"|", g.as_bytes()], m)?;
        Ok(claim)
    }

    /// The secret path segment of a pass download link: `<serial>.<generation>.<mac>`.
    pub fn link_token(&self, serial: &SerialNumber, generation: i64) -> String {
        let g = generation.to_string();
        let m = base32(
            &mac(
                &self.link,
                &[serial.as_str().as_bytes(), b"|", g.as_bytes()],
            )[..MAC_BYTES],
        );
        format!("{serial}.{g}.{m}")
    }

    pub fn verify_link_token(&self, token: &str) -> Result<TokenClaim, TokenError> {
        let mut parts = token.split('.');
        let (Some(serial), Some(g), Some(m), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let claim = claim(serial, g)?;
        check_mac(&self.link, &[serial.as_bytes(), b"|", g.as_bytes()], m)?;
        Ok(claim)
    }
}

/// Signs and checks the secret part of a sample link: `<program>.<expires>.<mac>`, the
/// program whose saved design the sample shows and when the link stops working (seconds
/// since the epoch). Whether it has expired is for the caller, who knows the time.
#[derive(Clone)]
pub struct SampleKey(Vec<u8>);

impl fmt::Debug for SampleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SampleKey(..)")
    }
}

/// What a valid sample token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleClaim {
    pub program: ProgramId,
    pub expires: i64,
}

impl SampleKey {
    pub fn token(&self, program: &ProgramId, expires: i64) -> String {
        let e = expires.to_string();
        let m =
            base32(&mac(&self.0, &[program.as_str().as_bytes(), b"|", e.as_bytes()])[..MAC_BYTES]);
        format!("{program}.{e}.{m}")
    }

    pub fn verify(&self, token: &str) -> Result<SampleClaim, TokenError> {
        let mut parts = token.split('.');
        let (Some(program), Some(e), Some(m), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let program = ProgramId::parse(program).map_err(|_| TokenError::Malformed)?;
        if e.is_empty() || e.len() > 12 || !e.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenError::Malformed);
        }
        let expires = e.parse().map_err(|_| TokenError::Malformed)?;
        check_mac(
            &self.0,
            &[program.as_str().as_bytes(), b"|", e.as_bytes()],
            m,
        )?;
        Ok(SampleClaim { program, expires })
    }
}

fn claim(serial: &str, generation: &str) -> Result<TokenClaim, TokenError> {
    let serial = SerialNumber::parse(serial).map_err(|_| TokenError::Malformed)?;
    if generation.is_empty()
        || generation.len() > 18
        || !generation.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(TokenError::Malformed);
    }
    let generation = generation.parse().map_err(|_| TokenError::Malformed)?;
    Ok(TokenClaim { serial, generation })
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn check_mac(key: &[u8], parts: &[&[u8]], presented: &str) -> Result<(), TokenError> {
    if presented.len() != MAC_CHARS || !is_base32(presented) {
        return Err(TokenError::Malformed);
    }
    let expected = base32(&mac(key, parts)[..MAC_BYTES]);
    if openssl::memcmp::eq(expected.as_bytes(), presented.as_bytes()) {
        Ok(())
    } else {
        Err(TokenError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    fn keys() -> TokenKeys {
        TokenKeys::derive(&[7u8; 32]).unwrap()
    }

    #[test]
    fn card_tokens_verify_and_resist_tampering() {
        let k = keys();
        let serial = SerialNumber::generate(&OsRandom);
        let t = k.card_token(&serial, 3);
        assert!(t.len() < 80, "{t}");
        assert_eq!(
            k.verify_card_token(&t).unwrap(),
            TokenClaim {
                serial: serial.clone(),
                generation: 3
            }
        );
        let bumped = t.replacen("-3-", "-4-", 1);
        assert_eq!(k.verify_card_token(&bumped), Err(TokenError::BadSignature));
        let other = TokenKeys::derive(&[8u8; 32]).unwrap();
        assert_eq!(other.verify_card_token(&t), Err(TokenError::BadSignature));
        assert_eq!(
            k.verify_card_token(serial.as_str()),
            Err(TokenError::Malformed)
        );
        assert_eq!(k.verify_card_token("PW1-x-1-y"), Err(TokenError::Malformed));
    }

    #[test]
    fn link_and_card_tokens_are_not_interchangeable() {
        let k = keys();
        let serial = SerialNumber::generate(&OsRandom);
        let link = k.link_token(&serial, 1);
        assert_eq!(k.verify_link_token(&link).unwrap().serial, serial);
        let card_mac = k
            .card_token(&serial, 1)
            .rsplit('-')
            .next()
            .unwrap()
            .to_string();
        let forged = format!("{serial}.1.{card_mac}");
        assert_eq!(k.verify_link_token(&forged), Err(TokenError::BadSignature));
        assert!(TokenKeys::derive(b"short").is_err());
    }

    #[test]
    fn sample_tokens_name_their_program_and_expiry_and_resist_tampering() {
        let k = keys();
        let program = ProgramId::generate(&OsRandom);
        let t = k.sample_key().token(&program, 1_900_000_000);
        assert_eq!(
            k.sample_key().verify(&t).unwrap(),
            SampleClaim {
                program: program.clone(),
                expires: 1_900_000_000
            }
        );
        let later = t.replacen(".1900000000.", ".1900000001.", 1);
        assert_eq!(k.sample_key().verify(&later), Err(TokenError::BadSignature));
        let other = ProgramId::generate(&OsRandom);
        let moved = t.replacen(program.as_str(), other.as_str(), 1);
        assert_eq!(k.sample_key().verify(&moved), Err(TokenError::BadSignature));
        // A pass download link's MAC does not open a sample, nor the other way round.
        let serial = SerialNumber::generate(&OsRandom);
        let link_mac = k
            .link_token(&serial, 1)
            .rsplit('.')
            .next()
            .unwrap()
            .to_string();
        let forged = format!("{program}.1900000000.{link_mac}");
        assert_eq!(
            k.sample_key().verify(&forged),
            Err(TokenError::BadSignature)
        );
        for bad in [
            "",
            "x.1.y",
            &format!("{program}.-1.{link_mac}"),
            &format!("{t}.x"),
        ] {
            assert_eq!(
                k.sample_key().verify(bad),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }
}
