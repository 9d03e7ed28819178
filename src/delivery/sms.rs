//! Sending SMS through Twilio's Messages API, or any provider speaking it:
//! `POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json` with the form fields `To`,
//! `From` (or `MessagingServiceSid`) and `Body`, under HTTP basic auth `sid:token`. Or, in
//! development, written to a folder.
//!
//! 2xx is delivered (the answer's `sid` is the reference); 429, 5xx, timeouts and connection
//! problems are retried; any other 4xx is final, with the provider's message.

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::folder::Folder;
use super::outcome::SendOutcome;
use crate::domain::contact::PhoneNumber;
use crate::settings::{SmsMode, SmsSettings};

/// Who the message comes from, as the provider knows it.
#[derive(Debug, Clone)]
enum Sender {
    Number(String),
    MessagingService(String),
}

struct Twilio {
    http: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: SecretString,
    sender: Sender,
    timeout: Duration,
}

enum Sink {
    Folder(Folder),
    Twilio(Twilio),
}

pub struct SmsSender {
    sink: Sink,
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.sink {
            Sink::Folder(_) => "folder",
            Sink::Twilio(_) => "twilio",
        };
        write!(f, "SmsSender({mode})")
    }
}

impl SmsSender {
    pub fn from_settings(s: &SmsSettings, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let sink = match s.mode {
            SmsMode::Folder => {
                let dir = data_dir.join("sms");
                tracing::warn!(dir = %dir.display(), "sms.mode is \"folder\": text messages are written there, not sent");
                Sink::Folder(Folder::new(dir))
            }
            SmsMode::Twilio => {
                let timeout = Duration::from_millis(s.timeout_ms);
                let http = reqwest::Client::builder()
                    .timeout(timeout)
                    .connect_timeout(timeout.min(Duration::from_secs(10)))
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("passwright/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .context("building the SMS HTTP client")?;
                let sender = match (&s.from, &s.messaging_service_sid) {
                    (_, Some(service)) => Sender::MessagingService(service.clone()),
                    (Some(from), None) => Sender::Number(from.clone()),
                    (None, None) => anyhow::bail!("sms: set from or messaging_service_sid"),
                };
                let auth_token = s.auth_token.clone().context("sms.auth_token is required")?;
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    s.base_url.trim_end_matches('/'),
                    s.account_sid
                );
                tracing::info!(base_url = %s.base_url, "text messages go to the SMS provider");
                Sink::Twilio(Twilio {
                    http,
                    url,
                    account_sid: s.account_sid.clone(),
                    auth_token,
                    sender,
                    timeout,
                })
            }
        };
        Ok(SmsSender { sink })
    }

    /// Sends `body` to `to`; `file_stem` names the file in folder mode.
    pub async fn send(&self, to: &PhoneNumber, body: &str, file_stem: &str) -> SendOutcome {
        match &self.sink {
            Sink::Folder(folder) => {
                let contents = format!("To: {}\n\n{body}\n", to.as_str());
                folder
                    .write(&format!("{file_stem}.txt"), contents.as_bytes())
                    .await
            }
            Sink::Twilio(t) => t.send(to, body).await,
        }
    }
}

impl Twilio {
    async fn send(&self, to: &PhoneNumber, body: &str) -> SendOutcome {
        let sender = match &self.sender {
            Sender::Number(n) => ("From", n.as_str()),
            Sender::MessagingService(s) => ("MessagingServiceSid", s.as_str()),
        };
        let form = [("To", to.as_str()), sender, ("Body", body)];
        let result = self
            .http
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await;
        let resp = match result {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return SendOutcome::Retry {
                    reason: format!("no answer within {} ms", self.timeout.as_millis()),
                }
            }
            Err(e) => {
                return SendOutcome::Retry {
                    reason: describe(e),
                }
            }
        };
        let status = resp.status().as_u16();
        let answer: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        classify(status, &answer)
    }
}

fn classify(status: u16, answer: &serde_json::Value) -> SendOutcome {
    let message = || {
        let text = answer["message"].as_str().unwrap_or("no message");
        match answer["code"].as_i64() {
            Some(code) => format!("HTTP {status}: {text} (code {code})"),
            None => format!("HTTP {status}: {text}"),
        }
    };
    match status {
        200..=299 => match answer["sid"].as_str() {
            Some(sid) => SendOutcome::Delivered {
                reference: sid.to_string(),
            },
            None => SendOutcome::Delivered {
                reference: format!("HTTP {status} without a sid"),
            },
        },
        429 | 500..=599 => SendOutcome::Retry { reason: message() },
        _ => SendOutcome::Failed { reason: message() },
    }
}

/// The error and its causes, without the URL (it names the account).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(
            classify(201, &json!({"sid": "SM123"})),
            SendOutcome::Delivered {
                reference: "SM123".into()
            }
        );
        assert!(matches!(
            classify(429, &json!({})),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(503, &json!({})),
            SendOutcome::Retry { .. }
        ));
        assert_eq!(
            classify(
                400,
                &json!({"code": 21211, "message": "Invalid 'To' Phone Number"})
            ),
            SendOutcome::Failed {
                reason: "HTTP 400: Invalid 'To' Phone Number (code 21211)".into()
            }
        );
    }
}
