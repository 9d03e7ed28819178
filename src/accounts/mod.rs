//! Console accounts: people signing in with an email and a password, their sessions, the
//! throttle on failed sign-ins, and the one-time links that invite a person or reset their
//! password (`links`). What the HTTP side needs is here; the SQL is in `storage::operations::users`.
//!
//! A session is a random token in an `HttpOnly` cookie, of which the database keeps only the
//! SHA-256, with a CSRF token that every form and every state-changing request sends back.
//! It ends after `console.session_idle_minutes` unused or `console.session_max_hours` after
//! sign-in, at sign-out, when its user is disabled, and everywhere at a password reset.

pub mod links;
pub mod mail;
pub mod passwords;

use time::{Duration, OffsetDateTime};

use crate::clock::{SharedClock, SharedRandom};
use crate::domain::api_key::Role;
use crate::domain::ids::{ProgramId, UserId};
use crate::domain::user::{
    csrf_token, link_id, user_email, LinkPurpose, NewPassword, Session, SessionToken, User,
};
use crate::domain::{text, Invalid};
use crate::settings::ConsoleSettings;
use crate::storage::{AuditEntry, NewUser, NewUserLink, Store, StoreError};
use links::LinkKey;

/// A session just opened: the cookie's value and the session as stored.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub session: Session,
    pub user: User,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("That email address and password do not match.")]
    Mismatch,
    /// Too many failures; the minutes until one more try is let through.
    #[error("Too many failed sign-ins. Try again in {minutes} minutes, or reset your password.")]
    Throttled { minutes: i64 },
    #[error("This account is switched off. Ask an owner of the console to switch it on again.")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("program {0} does not exist")]
    UnknownProgram(ProgramId),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A one-time link to make: for what, who made it, whether to mail it, and for the audit log
/// who asked and what; none is made if one of the purpose is younger than `wait`.
struct Issue<'a> {
    purpose: LinkPurpose,
    created_by: &'a str,
    email: bool,
    actor: &'a str,
    action: &'a str,
    wait: Duration,
}

/// Who a new user is, as a person typed it.
pub struct UserForm<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub program: Option<ProgramId>,
}

pub struct Accounts {
    pub store: Store,
    pub clock: SharedClock,
    pub random: SharedRandom,
    pub settings: ConsoleSettings,
    pub links: LinkKey,
}

impl Accounts {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn window(&self) -> Duration {
        Duration::minutes(i64::from(self.settings.sign_in_window_minutes))
    }

    /// Signs `email` in with `password` from `address`, unless the account or the address
    /// has failed too often in the window. Every failure counts against both.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<SignedIn, SignInError> {
        let now = self.now();
        // An address that is not one cannot match, but it is throttled like any other.
        let email = user_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        let failures = self
            .store
            .sign_in_failures(&email, address, now - self.window())
            .await?;
        let s = &self.settings;
        let blocked = [
            (
                failures.account,
                s.sign_in_failures_per_account,
                failures.account_oldest,
            ),
            (
                failures.address,
                s.sign_in_failures_per_address,
                failures.address_oldest,
            ),
        ]
        .into_iter()
        .filter(|(n, limit, _)| *n >= i64::from(*limit))
        .filter_map(|(_, _, oldest)| oldest)
        .map(|oldest| oldest + self.window() - now)
        .max();
        if let Some(wait) = blocked {
            let minutes = (wait.whole_seconds() + 59) / 60;
            return Err(SignInError::Throttled {
                minutes: minutes.max(1),
            });
        }
        let found = match self.store.user_by_email(&email).await {
            Ok(found) => Some(found),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, None),
        };
        if !passwords::verify(hash, password).await {
            self.store
                .record_sign_in_failure(&email, address, now)
                .await?;
            return Err(SignInError::Mismatch);
        }
        let Some(user) = user else {
            return Err(SignInError::Mismatch);
        };
        if user.disabled_at.is_some() {
            return Err(SignInError::Disabled);
        }
        let signed_in = self.new_session(user, now);
        let audit = AuditEntry {
            actor: &signed_in.user.actor(),
            action: "session.sign_in",
            program_id: None,
            subject: None,
            before: None,
            after: Some(serde_json::json!({ "address": address }).to_string()),
        };
        self.store
            .insert_session(&signed_in.session, &audit)
            .await?;
        Ok(signed_in)
    }

    fn new_session(&self, user: User, now: OffsetDateTime) -> SignedIn {
        let token = SessionToken::generate(self.random.as_ref());
        let session = Session {
            token_hash: token.hash(),
            user_id: user.id.clone(),
            csrf_token: csrf_token(self.random.as_ref()),
            created_at: now,
            last_seen_at: now,
            expires_at: self.expiry(now, now),
        };
        SignedIn {
            token,
            session,
            user,
        }
    }

    /// When a session used at `now`, opened at `created`, ends.
    fn expiry(&self, created: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
        let idle = now + Duration::minutes(i64::from(self.settings.session_idle_minutes));
        let max = created + Duration::hours(i64::from(self.settings.session_max_hours));
        idle.min(max)
    }

    /// The live session of a cookie and its user; `None` when it ended or its user was
    /// switched off. Use moves its idle expiry on (written at most once a minute).
    pub async fn session(&self, cookie: &str) -> Result<Option<(Session, User)>, StoreError> {
        let now = self.now();
        let hash = SessionToken::from_cookie(cookie).hash();
        let (mut session, user) = match self.store.session(&hash, now).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        if now - session.last_seen_at >= Duration::minutes(1) {
            session.expires_at = self.expiry(session.created_at, now);
            session.last_seen_at = now;
            self.store
                .touch_session(&hash, session.expires_at, now)
                .await?;
        }
        Ok(Some((session, user)))
    }

    /// Ends the session of `cookie`, or every session of its user.
    pub async fn sign_out(
        &self,
        session: &Session,
        user: &User,
        everywhere: bool,
    ) -> Result<(), StoreError> {
        let audit = AuditEntry {
            actor: &user.actor(),
            action: if everywhere {
                "session.sign_out_everywhere"
            } else {
                "session.sign_out"
            },
            program_id: None,
            subject: None,
            before: None,
            after: None,
        };
        self.store
            .end_sessions(&session.token_hash, everywhere, &audit, self.now())
            .await
    }

    /// Adds a user. With a password they can sign in at once (the CLI, the demo); without,
    /// they get an invitation link: emailed when `email_link`, otherwise returned (the CLI
    /// prints it). `actor` is who added them for the audit log (`user:<id>`, `cli`), and
    /// `actor_name` as the invitation names them.
    pub async fn add_user(
        &self,
        form: &UserForm<'_>,
        password: Option<&NewPassword>,
        email_link: bool,
        actor: &str,
        actor_name: &str,
    ) -> Result<(User, Option<String>), AccountError> {
        let now = self.now();
        let email = user_email(form.email)?;
        let name = match form.name.trim() {
            "" => email.split('@').next().unwrap_or_default().to_string(),
            n => text("name", n, 80)?,
        };
        if form.role == Role::Admin && form.program.is_some() {
            return Err(Invalid::new(
                "program",
                "An owner sees every program. To limit someone to one program, make them a marketer or staff.",
            )
            .into());
        }
        if let Some(p) = &form.program {
            match self.store.program(p).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => return Err(AccountError::UnknownProgram(p.clone())),
                Err(e) => return Err(e.into()),
            }
        }
        let user = User {
            id: UserId::generate(self.random.as_ref()),
            email,
            name,
            role: form.role,
            program_id: form.program.clone(),
            has_password: password.is_some(),
            created_at: now,
            disabled_at: None,
        };
        let hash = match password {
            Some(p) => Some(passwords::hash(p, self.random.as_ref()).await?),
            None => None,
        };
        let link_id = link_id(self.random.as_ref());
        let expires_at = now + self.link_life(LinkPurpose::Invite);
        let link = NewUserLink {
            id: &link_id,
            purpose: LinkPurpose::Invite,
            expires_at,
            created_by: actor_name,
            email: email_link,
        };
        let audit = AuditEntry {
            actor,
            action: "user.add",
            program_id: user.program_id.as_ref(),
            subject: Some(&format!("user:{}", user.id)),
            before: None,
            after: Some(user_json(&user)),
        };
        self.store
            .insert_user(
                &NewUser {
                    user: &user,
                    password_hash: hash.as_deref(),
                },
                hash.is_none().then_some(&link),
                &audit,
                now,
            )
            .await?;
        let token = hash
            .is_none()
            .then(|| self.links.token(&link_id, link.purpose));
        Ok((user, token))
    }

    /// Emails a password-reset link to `email`'s user, if there is one who may sign in. The
    /// answer is the same either way, so the form tells nobody which addresses have accounts;
    /// a second request within two minutes sends nothing more.
    pub async fn request_reset(&self, email: &str) -> Result<(), StoreError> {
        let Ok(email) = user_email(email) else {
            return Ok(());
        };
        let user = match self.store.user_by_email(&email).await {
            Ok((user, _)) if user.disabled_at.is_none() => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.issue_link(
            &user,
            Issue {
                purpose: LinkPurpose::Reset,
                created_by: &user.name,
                email: true,
                actor: &user.actor(),
                action: "user.reset_requested",
                wait: Duration::minutes(2),
            },
        )
        .await?;
        Ok(())
    }
}

impl Accounts {
    /// Mails `user` a new invitation link, if they have not set a password yet. False when
    /// one was sent less than two minutes ago (nothing more is sent).
    pub async fn resend_invitation(&self, user: &User, by: &User) -> Result<bool, StoreError> {
        let issued = self
            .issue_link(
                user,
                Issue {
                    purpose: LinkPurpose::Invite,
                    created_by: &by.name,
                    email: true,
                    actor: &by.actor(),
                    action: "user.invitation_sent",
                    wait: Duration::minutes(2),
                },
            )
            .await?;
        Ok(issued.is_some())
    }

    /// A password-reset link for `user` that is handed over rather than mailed (the CLI, the
    /// demo): its token, to put after the public URL with `links::path`.
    pub async fn reset_link(&self, user: &User, actor: &str) -> Result<String, StoreError> {
        let issue = Issue {
            purpose: LinkPurpose::Reset,
            created_by: actor,
            email: false,
            actor,
            action: "user.reset_link_made",
            // Asked for by the operator in person: no waiting between links.
            wait: Duration::ZERO,
        };
        let token = self.issue_link(user, issue).await?;
        token.ok_or_else(|| {
            StoreError::Unexpected(anyhow::anyhow!("a link with no wait was not made"))
        })
    }

    /// How long a link of `purpose` works.
    fn link_life(&self, purpose: LinkPurpose) -> Duration {
        match purpose {
            LinkPurpose::Invite => Duration::hours(i64::from(self.settings.invite_hours)),
            LinkPurpose::Reset => Duration::minutes(i64::from(self.settings.reset_minutes)),
        }
    }

    /// Makes a one-time link for `user` (mailed when `issue.email`) and records it in the
    /// audit log, unless one of the same purpose was made less than `issue.wait` ago. The
    /// link's token, when it was made.
    async fn issue_link(
        &self,
        user: &User,
        issue: Issue<'_>,
    ) -> Result<Option<String>, StoreError> {
        let now = self.now();
        let link_id = link_id(self.random.as_ref());
        let link = NewUserLink {
            id: &link_id,
            purpose: issue.purpose,
            expires_at: now + self.link_life(issue.purpose),
            created_by: issue.created_by,
            email: issue.email,
        };
        let audit = AuditEntry {
            actor: issue.actor,
            action: issue.action,
            program_id: user.program_id.as_ref(),
            subject: Some(&format!("user:{}", user.id)),
            before: None,
            after: None,
        };
        let made = self
            .store
            .add_user_link(&user.id, &link, now - issue.wait, &audit, now)
            .await?;
        Ok(made.then(|| self.links.token(&link_id, issue.purpose)))
    }

    /// Switches `user` off (every session of theirs ends) or on again.
    pub async fn set_disabled(
        &self,
        user: &User,
        disabled: bool,
        by: &User,
    ) -> Result<(), StoreError> {
        let mut after = user.clone();
        after.disabled_at = disabled.then(|| self.now());
        let audit = AuditEntry {
            actor: &by.actor(),
            action: if disabled {
                "user.disable"
            } else {
                "user.enable"
            },
            program_id: user.program_id.as_ref(),
            subject: Some(&format!("user:{}", user.id)),
            before: Some(user_json(user)),
            after: Some(user_json(&after)),
        };
        self.store
            .set_user_disabled(&user.id, disabled, &audit, self.now())
            .await
    }
}

/// A user as the audit log keeps them.
pub fn user_json(u: &User) -> String {
    serde_json::json!({
        "email": u.email,
        "name": u.name,
        "role": u.role.as_str(),
        "program_id": u.program_id.as_ref().map(ProgramId::as_str),
        "disabled": u.disabled_at.is_some(),
    })
    .to_string()
}

#[cfg(test)]
mod tests;
