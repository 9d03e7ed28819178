//! One-time links: an invitation (choose a name and password) or a password reset. The link
//! is `<id>.<mac>`: the id names the stored link, the MAC (HMAC-SHA256 under a service secret,
//! with the link's purpose) proves the id came from us. Only the id is stored and only the id
//! is in the outbox job that mails it; the MAC is derived again when the email is written.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{passwords, Accounts, SignedIn};
use crate::domain::ids::{base32, is_base32};
use crate::domain::user::{tokens_match, LinkPurpose, NewPassword, OneTimeLink, User};
use crate::domain::{text, Invalid};
use crate::storage::{AuditEntry, StoreError};

/// The secret the links' MACs are made with.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Not a link of ours, or one that was used, expired or replaced: the person is told to
    /// ask for a new one.
    #[error("This link has expired or was already used. Ask for a new one.")]
    Dead,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl LinkKey {
    pub fn new(secret: &[u8]) -> LinkKey {
        LinkKey(secret.to_vec())
    }

    fn mac(&self, id: &str, purpose: LinkPurpose) -> String {
        // HMAC takes keys of any length; new_from_slice cannot fail for it.
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        m.update(b"passwright console link v1|");
        m.update(purpose.as_str().as_bytes());
        m.update(b"|");
        m.update(id.as_bytes());
        base32(&m.finalize().into_bytes()[..16])
    }

    /// The secret part of the link to `id`.
    pub fn token(&self, id: &str, purpose: LinkPurpose) -> String {
        format!("{id}.{}", self.mac(id, purpose))
    }

    /// The id a token names, if its MAC is ours for `purpose`.
    fn check(&self, token: &str, purpose: LinkPurpose) -> Option<String> {
        let (id, mac) = token.trim().split_once('.')?;
        if id.len() != 26 || !is_base32(id) {
            return None;
        }
        tokens_match(mac, &self.mac(id, purpose)).then(|| id.to_string())
    }
}

/// The path of a link below the public URL.
pub fn path(purpose: LinkPurpose, token: &str) -> String {
    match purpose {
        LinkPurpose::Invite => format!("/console/invite/{token}"),
        LinkPurpose::Reset => format!("/console/reset/{token}"),
    }
}

impl Accounts {
    /// The link of `token` and its user, if it can still be used.
    pub async fn open_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
    ) -> Result<(OneTimeLink, User), LinkError> {
        let id = self.links.check(token, purpose).ok_or(LinkError::Dead)?;
        let link = match self.store.user_link(&id).await {
            Ok(l) => l,
            Err(StoreError::NotFound) => return Err(LinkError::Dead),
            Err(e) => return Err(e.into()),
        };
        if link.purpose != purpose || link.used_at.is_some() || link.expires_at <= self.now() {
            return Err(LinkError::Dead);
        }
        let user = self.store.user(&link.user_id).await?;
        if user.disabled_at.is_some() {
            return Err(LinkError::Dead);
        }
        Ok((link, user))
    }

    /// Uses the link: sets the password (and for an invitation the name, when given), ends
    /// every other session of the user, and signs them in here.
    pub async fn use_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        password: &str,
        name: Option<&str>,
    ) -> Result<SignedIn, LinkError> {
        let (link, user) = self.open_link(token, purpose).await?;
        let password = NewPassword::parse(password)?;
        let name = match name.map(str::trim) {
            Some(n) if !n.is_empty() => Some(text("name", n, 80)?),
            _ => None,
        };
        let hash = passwords::hash(&password, self.random.as_ref()).await?;
        let now = self.now();
        let mut signed_in = self.new_session(user, now);
        if let Some(n) = &name {
            signed_in.user.name = n.clone();
        }
        signed_in.user.has_password = true;
        let audit = AuditEntry {
            actor: &signed_in.user.actor(),
            action: match purpose {
                LinkPurpose::Invite => "user.invitation_accepted",
                LinkPurpose::Reset => "user.password_reset",
            },
            program_id: None,
            subject: Some(&format!("user:{}", signed_in.user.id)),
            before: None,
            after: None,
        };
        match self
            .store
            .use_user_link(&link.id, &hash, name.as_deref(), &signed_in.session, &audit)
            .await
        {
            Ok(()) => Ok(signed_in),
            // Used by another request in between.
            Err(StoreError::NotFound) => Err(LinkError::Dead),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_id_for_its_purpose_only() {
        let key = LinkKey::new(b"0123456789abcdef0123456789abcdef");
        let id = "abcdefghijklmnopqrstuvwxyz";
        let token = key.token(id, LinkPurpose::Reset);
        assert_eq!(key.check(&token, LinkPurpose::Reset).as_deref(), Some(id));
        assert_eq!(key.check(&token, LinkPurpose::Invite), None);
        let other = LinkKey::new(b"another key, another key, anothe");
        assert_eq!(other.check(&token, LinkPurpose::Reset), None);
        let forged = format!("{id}.{}", "a".repeat(26));
        assert_eq!(key.check(&forged, LinkPurpose::Reset), None);
        assert_eq!(key.check("nonsense", LinkPurpose::Reset), None);
        assert_eq!(
            path(LinkPurpose::Reset, &token),
            format!("/console/reset/{token}")
        );
    }
}
