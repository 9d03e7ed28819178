//! Identifiers Google Wallet sees: our issuer id, and the class and object ids derived from a
//! program id and a card's serial number. Google wants `<issuerId>.<suffix>` where the suffix
//! uses only letters, digits, `.`, `_` and `-`, and is unique per issuer.

use std::fmt;

use serde::Serialize;

use crate::domain::apple_ids::SerialNumber;
use crate::domain::ids::ProgramId;
use crate::domain::Invalid;

/// The numeric id of our issuer account in the Google Pay & Wallet Console.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IssuerId(String);

impl IssuerId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        // Issuer ids are int64 in Google's API, so at most 19 digits.
        let ok = !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(IssuerId(s.to_string()))
        } else {
            Err(Invalid::new(
                "issuer_id",
                "must be the numeric Google Wallet issuer id (digits only)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssuerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IssuerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What building Google classes and objects needs besides the program and member.
#[derive(Debug, Clone)]
pub struct GoogleContext {
    pub issuer_id: IssuerId,
    /// Where passwright is reachable from the internet, without a trailing slash; Google
    /// fetches card images from here.
    pub public_base_url: String,
    /// The HTTPS endpoint Google posts save/delete callbacks to, if enabled.
    pub callback_url: Option<String>,
}

impl GoogleContext {
    pub fn new(issuer_id: IssuerId, public_base_url: &str, callback_url: Option<String>) -> Self {
        GoogleContext {
            issuer_id,
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
            callback_url,
        }
    }
}

/// `<issuer>.<program id>`: program ids (`prg_` + base32) are valid suffixes as they are.
pub fn class_id(issuer: &IssuerId, program: &ProgramId) -> String {
    format!("{issuer}.{}", program.as_str())
}

/// `<issuer>.<serial>`: the serial never changes for a card and is random, so it is unique per
/// issuer and reveals nothing about other members.
pub fn object_id(issuer: &IssuerId, serial: &SerialNumber) -> String {
    format!("{issuer}.{}", serial.as_str())
}

/// The program behind a class id of ours (as Google echoes it in callbacks), if it is one.
pub fn program_of_class_id(issuer: &IssuerId, class_id: &str) -> Option<ProgramId> {
    ProgramId::parse(own_suffix(issuer, class_id)?).ok()
}

/// The card serial behind an object id of ours (as Google echoes it in callbacks), if it is one.
pub fn serial_of_object_id(issuer: &IssuerId, object_id: &str) -> Option<SerialNumber> {
    SerialNumber::parse(own_suffix(issuer, object_id)?).ok()
}

fn own_suffix<'a>(issuer: &IssuerId, id: &'a str) -> Option<&'a str> {
    id.strip_prefix(issuer.as_str())?.strip_prefix('.')
}

/// Whether `suffix` may follow `<issuer>.` in a Google class or object id.
pub fn is_valid_suffix(suffix: &str) -> bool {
    !suffix.is_empty()
        && suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn issuer_ids_are_digits_only() {
        assert_eq!(
            IssuerId::parse("3388000000012345678").unwrap().as_str(),
            "3388000000012345678"
        );
        for bad in [
            "",
            "12a",
            " 123",
            "123.",
            "-1",
            "１２３",
            "12345678901234567890",
        ] {
            assert!(IssuerId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn class_and_object_ids_use_valid_suffixes_and_round_trip() {
        let issuer = IssuerId::parse("3388000000012345678").unwrap();
        let program = ProgramId::generate(&OsRandom);
        let serial = SerialNumber::generate(&OsRandom);
        let class = class_id(&issuer, &program);
        let object = object_id(&issuer, &serial);
        for id in [&class, &object] {
            let (head, suffix) = id.split_once('.').unwrap();
            assert_eq!(head, issuer.as_str());
            assert!(is_valid_suffix(suffix), "{id}");
        }
        assert_eq!(program_of_class_id(&issuer, &class), Some(program));
        assert_eq!(serial_of_object_id(&issuer, &object), Some(serial.clone()));
        let other = IssuerId::parse("3388000000099999999").unwrap();
        assert_eq!(serial_of_object_id(&other, &object), None);
        assert_eq!(serial_of_object_id(&issuer, &class), None);
        assert!(!is_valid_suffix("a b"));
        assert!(!is_valid_suffix("a/b"));
        assert!(!is_valid_suffix(""));
    }

    #[test]
    fn context_drops_trailing_slash() {
        let ctx = GoogleContext::new(
            IssuerId::parse("1").unwrap(),
            "https://cards.example.com/",
            None,
        );
        assert_eq!(ctx.public_base_url, "https://cards.example.com");
    }
}
