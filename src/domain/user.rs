//! Console users: people who sign in to `/console` with an email and a password. They have
//! the API keys' roles (an `admin` is the console's owner) and may be limited to one program,
//! as keys may. Their sessions and one-time links (invitation, password reset) are tokens of
//! which only a hash or an id is stored.

use std::fmt;

use time::OffsetDateTime;

use super::api_key::Role;
use super::contact::EmailAddress;
use super::ids::{base32, random_base32, ProgramId, UserId};
use super::Invalid;
use crate::clock::Random;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// Lower-cased: people type their address in any case.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub program_id: Option<ProgramId>,
    /// Whether a password is set (a user who has not accepted the invitation has none).
    pub has_password: bool,
    pub created_at: OffsetDateTime,
    pub disabled_at: Option<OffsetDateTime>,
}

impl User {
    pub fn can_access(&self, program: &ProgramId) -> bool {
        self.program_id.as_ref().is_none_or(|p| p == program)
    }

    pub fn is_owner(&self) -> bool {
        self.role == Role::Admin && self.program_id.is_none()
    }

    /// `user:<id>`, as the audit log and ledger entries record who acted.
    pub fn actor(&self) -> String {
        format!("user:{}", self.id)
    }
}

/// A sign-in address: parsed like a member's, then lower-cased whole, so `Ana@Shop.example`
/// and `ana@shop.example` are one account.
pub fn user_email(s: &str) -> Result<String, Invalid> {
    Ok(EmailAddress::parse(s)?.as_str().to_lowercase())
}

/// How the console and the CLI name a role: the owner is the API's `admin`.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Owner",
        Role::Marketer => "Marketer",
        Role::Staff => "Staff",
    }
}

/// A role as a person names it: `owner` (or `admin`), `marketer`, `staff`.
pub fn parse_role(s: &str) -> Result<Role, Invalid> {
    match s.trim().to_ascii_lowercase().as_str() {
        "owner" | "admin" => Ok(Role::Admin),
        "marketer" => Ok(Role::Marketer),
        "staff" => Ok(Role::Staff),
        _ => Err(Invalid::new("role", "must be owner, marketer or staff")),
    }
}

/// A new password, checked before it is hashed. Length is what counts (NIST SP 800-63B): at
/// least 10 characters, at most 200, not only spaces.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 200;

    pub fn parse(s: &str) -> Result<NewPassword, Invalid> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS || s.trim().is_empty() {
            return Err(Invalid::new(
                "password",
                format!(
                    "Choose a password of at least {} characters.",
                    Self::MIN_CHARS
                ),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(Invalid::new(
                "password",
                format!(
                    "A password can have at most {} characters.",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(NewPassword(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// A session's secret, the value of the session cookie: 32 random bytes in base32. Only its
/// SHA-256 is stored.
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate(rng: &dyn Random) -> SessionToken {
        SessionToken(random_base32(rng, 32))
    }

    pub fn from_cookie(s: &str) -> SessionToken {
        SessionToken(s.to_string())
    }

    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// A signed-in session as stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub user_id: UserId,
    /// Sent back with every form and state-changing request.
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A CSRF token: 20 random bytes in base32.
pub fn csrf_token(rng: &dyn Random) -> String {
    random_base32(rng, 20)
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Accept an invitation: choose a name and password.
    Invite,
    /// Choose a new password.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<LinkPurpose> {
        match s {
            "invite" => Some(LinkPurpose::Invite),
            "reset" => Some(LinkPurpose::Reset),
            _ => None,
        }
    }
}

/// A one-time link as stored: the link itself is its id and a MAC of it.
#[derive(Debug, Clone)]
pub struct OneTimeLink {
    pub id: String,
    pub user_id: UserId,
    pub purpose: LinkPurpose,
    /// Who made it, as the email names them.
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// A new link id: 16 random bytes in base32.
pub fn link_id(rng: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    base32(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn addresses_are_one_account_in_any_case() {
        assert_eq!(
            user_email(" Ana@Shop.Example ").unwrap(),
            "ana@shop.example"
        );
        assert!(user_email("not an address").is_err());
    }

    #[test]
    fn roles_by_the_names_people_use() {
        assert_eq!(parse_role("Owner").unwrap(), Role::Admin);
        assert_eq!(parse_role("admin").unwrap(), Role::Admin);
        assert_eq!(parse_role("staff").unwrap(), Role::Staff);
        assert!(parse_role("root").is_err());
        assert_eq!(role_label(Role::Admin), "Owner");
    }

    #[test]
    fn passwords_by_length() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("          ").is_err());
        assert!(NewPassword::parse(&"x".repeat(201)).is_err());
        let p = NewPassword::parse("correct horse").unwrap();
        assert_eq!(p.expose(), "correct horse");
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn session_tokens_hash_and_hide() {
        let t = SessionToken::generate(&OsRandom);
        assert_eq!(t.expose().len(), 52);
        assert_eq!(t.hash(), SessionToken::from_cookie(t.expose()).hash());
        assert!(!format!("{t:?}").contains(t.expose()));
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "abcd"));
    }
}
