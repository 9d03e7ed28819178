//! Sending email: a multipart/alternative message (text and HTML) with the RFC 8058
//! one-click unsubscribe headers, handed to an SMTP relay (`super::smtp`: STARTTLS, implicit
//! TLS, or plain to a relay on this machine), or written to a folder in development.
//!
//! A relay's answer decides what happens next: accepted is delivered; a 4xx reply, a timeout
//! or a connection problem is retried; a 5xx reply is final.

use anyhow::Context;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use super::folder::Folder;
use super::outcome::SendOutcome;
use super::smtp::{SmtpError, SmtpRelay};
use crate::domain::contact::EmailAddress;
use crate::settings::{EmailMode, EmailSettings};

/// One email to one member.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: EmailAddress,
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Stable per message, so a message sent twice (delivery is at least once) can be
    /// recognised by the receiving side: `<local@domain>`.
    pub message_id: String,
    /// The one-click unsubscribe URL of a message to a member; `None` for the console's own
    /// mail (an invitation, a password reset), which a person cannot unsubscribe from.
    pub unsubscribe_url: Option<String>,
    /// Names the file in folder mode.
    pub file_stem: String,
}

enum Sink {
    Folder(Folder),
    Smtp(SmtpRelay),
}

pub struct EmailSender {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    sink: Sink,
}

impl std::fmt::Debug for EmailSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.sink {
            Sink::Folder(_) => "folder",
            Sink::Smtp(_) => "smtp",
        };
        write!(f, "EmailSender({mode})")
    }
}

impl EmailSender {
    pub fn from_settings(s: &EmailSettings, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let from = mailbox(&s.from_name, &s.from_address).context("email.from_address")?;
        let reply_to = s
            .reply_to
            .as_deref()
            .map(|r| mailbox("", r))
            .transpose()
            .context("email.reply_to")?;
        let sink = match s.mode {
            EmailMode::Folder => {
                let dir = data_dir.join("mail");
                tracing::warn!(dir = %dir.display(), "email.mode is \"folder\": emails are written there, not sent");
                Sink::Folder(Folder::new(dir))
            }
            EmailMode::Smtp => Sink::Smtp(SmtpRelay::from_settings(s)?),
        };
        Ok(EmailSender {
            from,
            reply_to,
            sink,
        })
    }

    /// The domain of the sender address, for message ids.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// The message as it goes on the wire.
    pub fn message(&self, email: &Email) -> anyhow::Result<Message> {
        let to = mailbox(&email.to_name, email.to.as_str()).context("the member's address")?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(email.message_id.clone()));
        if let Some(url) = &email.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .context("building the email")
    }

    pub async fn send(&self, email: &Email) -> SendOutcome {
        let message = match self.message(email) {
            Ok(m) => m,
            Err(e) => {
                return SendOutcome::Failed {
                    reason: format!("{e:#}"),
                }
            }
        };
        match &self.sink {
            Sink::Folder(folder) => {
                folder
                    .write(&format!("{}.eml", email.file_stem), &message.formatted())
                    .await
            }
            Sink::Smtp(relay) => {
                let bytes = message.formatted();
                match relay.send(message.envelope(), &bytes).await {
                    Ok(response) => SendOutcome::Delivered {
                        reference: format!(
                            "{} {}",
                            response.code(),
                            response.message().collect::<Vec<_>>().join(" ")
                        )
                        .chars()
                        .take(200)
                        .collect(),
                    },
                    Err(SmtpError::Smtp(e)) => classify(&e),
                    Err(SmtpError::Connect(e)) => SendOutcome::Retry {
                        reason: format!("{e:#}"),
                    },
                }
            }
        }
    }
}

fn mailbox(name: &str, address: &str) -> anyhow::Result<Mailbox> {
    let address = address
        .parse()
        .map_err(|e| anyhow::anyhow!("{address:?} is not an address: {e}"))?;
    let name = name.trim();
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_string()),
        address,
    ))
}

/// A relay's refusal or a transport problem, as what to do next.
fn classify(e: &lettre::transport::smtp::Error) -> SendOutcome {
    let reason = describe(e);
    if e.is_permanent() {
        SendOutcome::Failed { reason }
    } else {
        // 4xx, timeouts, connection and TLS problems: the relay may take it later.
        SendOutcome::Retry { reason }
    }
}

fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `List-Unsubscribe: <https://…/u/{token}>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the URL above takes a POST.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> EmailSender {
        let s = EmailSettings {
            from_name: "Test Beans".into(),
            from_address: "cards@beans.example".into(),
            reply_to: Some("help@beans.example".into()),
            ..EmailSettings::default()
        };
        EmailSender::from_settings(&s, std::path::Path::new("/nonexistent")).unwrap()
    }

    #[test]
    fn the_message_carries_both_parts_and_the_unsubscribe_headers() {
        let sender = sender();
        assert_eq!(sender.domain(), "beans.example");
        let email = Email {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            to_name: "Ada Lovelace".into(),
            subject: "Your points".into(),
            text: "Hello Ada".into(),
            html: "<p>Hello Ada</p>".into(),
            message_id: "<m1.x@beans.example>".into(),
            unsubscribe_url: Some("https://cards.example/u/tok".into()),
            file_stem: "1".into(),
        };
        let raw = String::from_utf8(sender.message(&email).unwrap().formatted()).unwrap();
        for line in [
            "From: \"Test Beans\" <cards@beans.example>",
            "To: \"Ada Lovelace\" <ada@example.com>",
            "Reply-To: help@beans.example",
            "Subject: Your points",
            "Message-ID: <m1.x@beans.example>",
            "List-Unsubscribe: <https://cards.example/u/tok>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "multipart/alternative",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/html; charset=utf-8",
        ] {
            assert!(raw.contains(line), "{line} missing from\n{raw}");
        }
    }
}
