//! The console's own email: an invitation or a password-reset link, rendered from
//! `templates/email/console_{invite,reset}.*`. Written when its outbox job runs, from the
//! stored link (its MAC derived again), so the job holds no secret.

use serde::Serialize;
use time::format_description::well_known::Rfc2822;

use super::links::{path, LinkError};
use super::Accounts;
use crate::delivery::email::Email;
use crate::domain::contact::EmailAddress;
use crate::domain::user::{role_label, LinkPurpose};
use crate::storage::StoreError;
use crate::templates;

#[derive(Serialize)]
struct Context<'a> {
    user: UserView<'a>,
    inviter: &'a str,
    role: &'static str,
    program: Option<String>,
    link_url: String,
    expires: String,
}

#[derive(Serialize)]
struct UserView<'a> {
    name: &'a str,
    email: &'a str,
}

/// What became of a link's email before it was sent.
#[derive(Debug)]
pub enum Mail {
    Send(Box<Email>),
    /// The link was used, expired or replaced, or its user switched off: nothing to send.
    Moot,
}

impl Accounts {
    /// The email carrying link `link_id`, with links under `base_url`; `domain` names the
    /// message id's domain (the sender's).
    pub async fn link_email(
        &self,
        link_id: &str,
        base_url: &str,
        domain: &str,
    ) -> Result<Mail, LinkError> {
        let link = match self.store.user_link(link_id).await {
            Ok(l) => l,
            Err(StoreError::NotFound) => return Ok(Mail::Moot),
            Err(e) => return Err(e.into()),
        };
        let user = self.store.user(&link.user_id).await?;
        if link.used_at.is_some() || link.expires_at <= self.now() || user.disabled_at.is_some() {
            return Ok(Mail::Moot);
        }
        let program = match &user.program_id {
            Some(p) => Some(self.store.program(p).await?.name.clone()),
            None => None,
        };
        let token = self.links.token(&link.id, link.purpose);
        let name = match link.purpose {
            LinkPurpose::Invite => "console_invite",
            LinkPurpose::Reset => "console_reset",
        };
        let ctx = Context {
            user: UserView {
                name: &user.name,
                email: &user.email,
            },
            inviter: &link.created_by,
            role: role_label(user.role),
            program,
            link_url: format!(
                "{}{}",
                base_url.trim_end_matches('/'),
                path(link.purpose, &token)
            ),
            expires: link
                .expires_at
                .format(&Rfc2822)
                .map_err(|e| anyhow::anyhow!("formatting the expiry: {e}"))?,
        };
        let render = |part: &str| templates::render(&format!("email/{name}.{part}"), &ctx);
        let to = EmailAddress::parse(&user.email)?;
        Ok(Mail::Send(Box::new(Email {
            to,
            to_name: user.name.clone(),
            subject: render("subject.txt")?.trim().to_string(),
            text: render("txt")?,
            html: render("html")?,
            message_id: format!("<passwright.console.{}@{domain}>", link.id),
            unsubscribe_url: None,
            file_stem: format!("console-{}", link.id),
        })))
    }
}
