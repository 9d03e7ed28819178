//! Identifiers Apple Wallet sees: pass type id, team id, serial number, authentication token.

use std::fmt;

use serde::Serialize;

use super::ids::{is_base32, random_base32};
use super::Invalid;
use crate::clock::Random;

/// `pass.` + reverse DNS, as in the Pass Type ID certificate's UID.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PassTypeId(String);

/// `pass.` and reverse DNS, at most 255 characters.
impl utoipa::PartialSchema for PassTypeId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^pass(\\.[A-Za-z0-9-]+)+$"))
            .max_length(Some(255))
            .examples(["pass.com.example.loyalty"])
            .into()
    }
}

impl utoipa::ToSchema for PassTypeId {}

impl PassTypeId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = s.starts_with("pass.")
            && s.len() <= 255
            && s.len() > 5
            && s.split('.').all(|part| !part.is_empty())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if ok {
            Ok(PassTypeId(s.to_string()))
        } else {
            Err(Invalid::new(
                "pass_type_id",
                "must look like pass.com.example.loyalty (pass. followed by reverse DNS)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ten-character Apple developer team identifier.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TeamId(String);

impl TeamId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.len() == 10
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(TeamId(s.to_string()))
        } else {
            Err(Invalid::new(
                "team_id",
                "must be 10 upper-case letters or digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pass's serial number: unique within the pass type, never changes, random so that
/// serials seen in one place do not reveal others.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SerialNumber(String);

/// 20 lower-case base32 characters.
impl utoipa::PartialSchema for SerialNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[a-z2-7]{20}$"))
            .examples(["w4nsqf4sr6hdosnllpjq"])
            .into()
    }
}

impl utoipa::ToSchema for SerialNumber {}

impl SerialNumber {
    const LEN: usize = 20;

    pub fn generate(rng: &dyn Random) -> Self {
        SerialNumber(random_base32(rng, 12))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.len() == Self::LEN && is_base32(s) {
            Ok(SerialNumber(s.to_string()))
        } else {
            Err(Invalid::new("serial_number", "not a valid serial number"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The shared secret a device sends back as `Authorization: ApplePass <token>`. Apple needs
/// at least 16 characters; ours has 32 (160 random bits). It never changes for a pass.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn generate(rng: &dyn Random) -> Self {
        AuthToken(random_base32(rng, 20))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.len() >= 16 && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(AuthToken(s.to_string()))
        } else {
            Err(Invalid::new(
                "authentication_token",
                "must be 16 to 128 visible characters",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(..)")
    }
}

impl fmt::Debug for PassTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn pass_type_ids() {
        assert!(PassTypeId::parse("pass.com.example.loyalty").is_ok());
        assert!(PassTypeId::parse("com.example").is_err());
        assert!(PassTypeId::parse("pass.").is_err());
        assert!(PassTypeId::parse("pass.com..x").is_err());
        assert!(PassTypeId::parse("pass.com/x").is_err());
    }

    #[test]
    fn team_ids() {
        assert!(TeamId::parse("ABCDE12345").is_ok());
        assert!(TeamId::parse("abcde12345").is_err());
        assert!(TeamId::parse("ABCDE1234").is_err());
    }

    #[test]
    fn serials_and_tokens() {
        let s = SerialNumber::generate(&OsRandom);
        assert_eq!(SerialNumber::parse(s.as_str()).unwrap(), s);
        assert!(SerialNumber::parse("../../etc/passwd").is_err());
        let t = AuthToken::generate(&OsRandom);
        assert!(t.expose().len() >= 16);
        assert!(AuthToken::parse("short").is_err());
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
