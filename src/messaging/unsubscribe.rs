//! Unsubscribe tokens: `/u/{token}` names one member and one channel, signed so that nobody
//! can unsubscribe someone else by guessing. `<member id>.<channel>.<mac>`, the MAC an
//! HMAC-SHA256 under a key kept for this purpose alone (its own stored service secret, and a
//! label of its own on top), so a barcode or download token never stands in for one.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::distribution::MessageChannel;
use crate::domain::ids::{base32, is_base32, MemberId};

type HmacSha256 = Hmac<Sha256>;

const LABEL: &[u8] = b"passwright unsubscribe v1";
/// 16 bytes of MAC, 26 base32 characters.
const MAC_BYTES: usize = 16;
const MAC_CHARS: usize = 26;

#[derive(Clone)]
pub struct UnsubscribeKey(Vec<u8>);

impl fmt::Debug for UnsubscribeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnsubscribeKey(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsubscribeError {
    #[error("not an unsubscribe token")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
}

impl UnsubscribeKey {
    pub fn derive(secret: &[u8]) -> anyhow::Result<UnsubscribeKey> {
        if secret.len() < 32 {
            anyhow::bail!("the unsubscribe key must be at least 32 bytes");
        }
        Ok(UnsubscribeKey(mac(secret, &[LABEL])))
    }

    pub fn token(&self, member: &MemberId, channel: MessageChannel) -> String {
        let m = self.mac_for(member.as_str(), channel.as_str());
        format!("{member}.{}.{m}", channel.as_str())
    }

    /// The member and channel a token names, when its MAC verifies (compared in constant time).
    pub fn verify(&self, token: &str) -> Result<(MemberId, MessageChannel), UnsubscribeError> {
        let mut parts = token.split('.');
        let (Some(member), Some(channel), Some(m), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(UnsubscribeError::Malformed);
        };
        let member = MemberId::parse(member).map_err(|_| UnsubscribeError::Malformed)?;
        let channel = MessageChannel::parse(channel).map_err(|_| UnsubscribeError::Malformed)?;
        if m.len() != MAC_CHARS || !is_base32(m) {
            return Err(UnsubscribeError::Malformed);
        }
        let expected = self.mac_for(member.as_str(), channel.as_str());
        if openssl::memcmp::eq(expected.as_bytes(), m.as_bytes()) {
            Ok((member, channel))
        } else {
            Err(UnsubscribeError::BadSignature)
        }
    }

    fn mac_for(&self, member: &str, channel: &str) -> String {
        base32(&mac(&self.0, &[member.as_bytes(), b"|", channel.as_bytes()])[..MAC_BYTES])
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn tokens_verify_and_resist_tampering() {
        let key = UnsubscribeKey::derive(&[7u8; 32]).unwrap();
        let member = MemberId::generate(&OsRandom);
        let t = key.token(&member, MessageChannel::Email);
        assert_eq!(key.verify(&t), Ok((member.clone(), MessageChannel::Email)));
        let sms = t.replace(".email.", ".sms.");
        assert_eq!(key.verify(&sms), Err(UnsubscribeError::BadSignature));
        let other = MemberId::generate(&OsRandom);
        let moved = t.replace(member.as_str(), other.as_str());
        assert_eq!(key.verify(&moved), Err(UnsubscribeError::BadSignature));
        let foreign = UnsubscribeKey::derive(&[8u8; 32]).unwrap();
        assert_eq!(foreign.verify(&t), Err(UnsubscribeError::BadSignature));
        assert_eq!(key.verify("x.email.y"), Err(UnsubscribeError::Malformed));
        assert_eq!(
            key.verify(member.as_str()),
            Err(UnsubscribeError::Malformed)
        );
        assert!(UnsubscribeKey::derive(b"short").is_err());
    }
}
