//! Email and SMS sending settings. Both default to a folder under the data directory, so a
//! development instance never sends anything and never drops a message silently.

use secrecy::SecretString;
use serde::Deserialize;

use super::de;

/// How email leaves this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailMode {
    /// Each message is written as a `.eml` file under `<data dir>/mail/` and logged.
    Folder,
    /// Through an SMTP relay.
    Smtp,
}

/// How the connection to the SMTP relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); refused when not offered.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a relay on this machine (loopback).
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    pub mode: EmailMode,
    pub host: String,
    #[serde(deserialize_with = "de::number")]
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender address; also the domain of each message's `Message-ID`.
    pub from_address: String,
    pub from_name: String,
    pub reply_to: Option<String>,
    /// Time for one message to be handed over, connecting included, in milliseconds.
    #[serde(deserialize_with = "de::number")]
    pub timeout_ms: u64,
    /// Most connections to the relay at once; they are kept open and reused, and a send
    /// waits for a free one.
    #[serde(deserialize_with = "de::number")]
    pub max_connections: u32,
    /// Extra trusted CA certificate (PEM) for a relay whose certificate a private CA signed,
    /// on top of the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            mode: EmailMode::Folder,
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            from_address: "passwright@localhost.localdomain".into(),
            from_name: "passwright".into(),
            reply_to: None,
            timeout_ms: 15_000,
            max_connections: 10,
            ca_file: None,
        }
    }
}

/// How SMS leave this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsMode {
    /// Each message is written as a `.txt` file under `<data dir>/sms/` and logged.
    Folder,
    /// Through Twilio's Messages API (or a provider speaking it).
    Twilio,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SmsSettings {
    pub mode: SmsMode,
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Option<SecretString>,
    /// The sending number in E.164; or else `messaging_service_sid`.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    #[serde(deserialize_with = "de::number")]
    pub timeout_ms: u64,
    /// A rendered message longer than this many segments is not sent (reason `too_long`).
    #[serde(deserialize_with = "de::number")]
    pub max_segments: u32,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            mode: SmsMode::Folder,
            base_url: "https://api.twilio.com".into(),
            account_sid: String::new(),
            auth_token: None,
            from: None,
            messaging_service_sid: None,
            timeout_ms: 10_000,
            max_segments: 10,
        }
    }
}

/// Hosts a plain (`tls = "none"`) SMTP connection may go to: nothing leaves the machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.timeout_ms == 0 || self.max_connections == 0 {
            anyhow::bail!("email.timeout_ms and email.max_connections must be at least 1");
        }
        if crate::domain::contact::EmailAddress::parse(&self.from_address).is_err() {
            anyhow::bail!(
                "email.from_address {:?} is not an e-mail address",
                self.from_address
            );
        }
        if let Some(r) = &self.reply_to {
            if crate::domain::contact::EmailAddress::parse(r).is_err() {
                anyhow::bail!("email.reply_to {r:?} is not an e-mail address");
            }
        }
        if self.mode == EmailMode::Smtp {
            if self.host.is_empty() {
                anyhow::bail!("email.mode = \"smtp\" needs email.host");
            }
            if self.tls == SmtpTls::None && !is_loopback(&self.host) {
                anyhow::bail!(
                    "email.tls = \"none\" is only allowed to a relay on this machine (localhost, 127.0.0.1, ::1), not {:?}: use \"starttls\" or \"tls\"",
                    self.host
                );
            }
            if self.username.is_some() != self.password.is_some() {
                anyhow::bail!("email.username and email.password go together");
            }
        }
        Ok(())
    }
}

impl SmsSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.timeout_ms == 0 || self.max_segments == 0 {
            anyhow::bail!("sms.timeout_ms and sms.max_segments must be at least 1");
        }
        if self.mode == SmsMode::Twilio {
            if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
                anyhow::bail!("sms.base_url must be an http(s) URL");
            }
            if self.account_sid.is_empty() || self.auth_token.is_none() {
                anyhow::bail!("sms.mode = \"twilio\" needs sms.account_sid and sms.auth_token");
            }
            match (&self.from, &self.messaging_service_sid) {
                (Some(from), None) => {
                    if crate::domain::contact::PhoneNumber::parse(from).is_err() {
                        anyhow::bail!("sms.from must be a number in E.164, e.g. +15005550006");
                    }
                }
                (None, Some(_)) => {}
                _ => anyhow::bail!("sms: set either from or messaging_service_sid (one of them)"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_only_to_loopback() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("smtp.example.com"));
        assert!(!is_loopback("10.0.0.1"));
        let mut s = EmailSettings {
            mode: EmailMode::Smtp,
            host: "smtp.example.com".into(),
            tls: SmtpTls::None,
            ..EmailSettings::default()
        };
        assert!(s.validate().is_err());
        s.tls = SmtpTls::Starttls;
        assert!(s.validate().is_ok());
        s.host = "127.0.0.1".into();
        s.tls = SmtpTls::None;
        assert!(s.validate().is_ok());
    }

    #[test]
    fn twilio_needs_credentials_and_one_sender() {
        let mut s = SmsSettings {
            mode: SmsMode::Twilio,
            ..SmsSettings::default()
        };
        assert!(s.validate().is_err());
        s.account_sid = "AC123".into();
        s.auth_token = Some(SecretString::from("t".to_string()));
        assert!(s.validate().is_err(), "no sender");
        s.from = Some("+15005550006".into());
        assert!(s.validate().is_ok());
        s.messaging_service_sid = Some("MG1".into());
        assert!(s.validate().is_err(), "both senders");
        s.from = Some("0151 123".into());
        s.messaging_service_sid = None;
        assert!(s.validate().is_err(), "not E.164");
    }
}
