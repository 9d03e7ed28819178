//! API keys: a role, an optional program scope, and a secret we only keep as a hash.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::ids::{random_base32, ApiKeyId, ProgramId};
use super::Invalid;
use crate::clock::Random;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including API keys.
    Admin,
    /// Programs, members, points, within its scope.
    Marketer,
    /// The counter: look up members and record purchases.
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketer => "marketer",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "admin" => Ok(Role::Admin),
            "marketer" => Ok(Role::Marketer),
            "staff" => Ok(Role::Staff),
            _ => Err(Invalid::new("role", "must be admin, marketer or staff")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    pub program_id: Option<ProgramId>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    pub fn can_access(&self, program: &ProgramId) -> bool {
        self.program_id.as_ref().is_none_or(|p| p == program)
    }
}

/// The secret half of a key, shown once at creation: `pw_` + 32 base32 characters (160 bits).
/// High-entropy secrets need no slow hash; SHA-256 lets us find the key by its hash.
pub struct KeySecret(String);

impl KeySecret {
    pub fn generate(rng: &dyn Random) -> Self {
        KeySecret(format!("pw_{}", random_base32(rng, 20)))
    }

    pub fn from_presented(s: &str) -> Self {
        KeySecret(s.to_string())
    }

    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn secrets_hash_stably_and_hide() {
        let s = KeySecret::generate(&OsRandom);
        assert!(s.expose().starts_with("pw_"));
        assert_eq!(s.hash(), KeySecret::from_presented(s.expose()).hash());
        assert!(!format!("{s:?}").contains(s.expose()));
        assert_eq!(Role::parse("staff").unwrap(), Role::Staff);
        assert!(Role::parse("root").is_err());
    }
}
