//! `sample_card` jobs: the designer's "send a sample to my phone". A sample card of the
//! program's saved design goes by email or SMS to the address the console user typed; its
//! link (`/sample/{token}`) is signed again when the job runs, so the job holds no secret. A
//! link that has expired by then is not sent. The message is rendered from
//! `email/sample_card.*` or `sms/sample_card.txt` with the same context as a member's
//! message, for the sample member (Alex Sample).

use std::sync::Arc;

use time::macros::format_description;
use time::OffsetDateTime;

use super::jobs::Jobs;
use crate::cards::sample_member;
use crate::delivery::email::Email;
use crate::delivery::outcome::SendOutcome;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::ProgramId;
use crate::domain::sms::sms_size;
use crate::messaging::render::{render_email, render_sms, MessageContext};
use crate::messaging::Messaging;
use crate::storage::{ClaimedJob, Finish, StoreError};

/// The template of a sample card's message.
const TEMPLATE: &str = "sample_card";

/// What a `sample_card` job carries.
pub(super) struct SampleJob<'a> {
    pub program_id: &'a str,
    pub channel: &'a str,
    pub to: &'a str,
    pub expires: i64,
    pub nonce: &'a str,
    pub sent_by: &'a str,
}

pub(super) struct SampleHandler {
    pub jobs: Arc<Jobs>,
}

impl SampleHandler {
    pub async fn handle(
        &self,
        job: &ClaimedJob,
        sample: &SampleJob<'_>,
        messaging: Option<&Arc<Messaging>>,
    ) -> Finish {
        let Some(messaging) = messaging else {
            return self.jobs.retry_or_fail(
                job,
                "email and SMS are not set up on this instance",
                None,
            );
        };
        let now = self.jobs.clock.now();
        if sample.expires <= now.unix_timestamp() {
            return Finish::Done {
                note: Some("the sample link expired before it could be sent: not sent".into()),
            };
        }
        let Ok(program_id) = ProgramId::parse(sample.program_id) else {
            return Finish::Failed {
                error: format!("not a program id: {}", sample.program_id),
            };
        };
        let program = match self.jobs.store.program(&program_id).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => {
                return Finish::Done {
                    note: Some("the program was deleted: not sent".into()),
                }
            }
            Err(e) => return self.jobs.retry_or_fail(job, &format!("{e:#}"), None),
        };
        let member = sample_member(&program, self.jobs.random.as_ref(), now);
        let data = serde_json::json!({
            "expires": expiry_words(sample.expires),
            "sender": sample.sent_by,
        });
        let url = messaging.sample_url(&program.id, sample.expires);
        let ctx = MessageContext::new(&member, &program, url, None, &data);
        match send(messaging, sample, &ctx, file_stem(sample)).await {
            Ok(outcome) => self.jobs.finished_send(job, outcome),
            Err(error) => Finish::Failed { error },
        }
    }
}

/// Renders the sample's message and sends it by its channel; `Err` says why it cannot be
/// sent at all (retrying would not help).
async fn send(
    messaging: &Messaging,
    sample: &SampleJob<'_>,
    ctx: &MessageContext<'_>,
    stem: String,
) -> Result<SendOutcome, String> {
    let template = |e: anyhow::Error| format!("template: {e:#}");
    match sample.channel {
        "email" => {
            let to = EmailAddress::parse(sample.to).map_err(|_| "not an email address")?;
            let rendered = render_email(TEMPLATE, ctx).map_err(template)?;
            let email = Email {
                to,
                to_name: String::new(),
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                message_id: format!("<passwright.{stem}@{}>", messaging.email.domain()),
                unsubscribe_url: None,
                file_stem: stem,
            };
            Ok(messaging.email.send(&email).await)
        }
        "sms" => {
            let to = PhoneNumber::parse(sample.to).map_err(|_| "not a phone number")?;
            let body = render_sms(TEMPLATE, ctx).map_err(template)?;
            let size = sms_size(&body);
            if size.segments > messaging.max_segments {
                return Err(format!(
                    "too_long: {} segments, at most {}",
                    size.segments, messaging.max_segments
                ));
            }
            Ok(messaging.sms.send(&to, &body, &stem).await)
        }
        other => Err(format!("no such channel: {other}")),
    }
}

/// "14 December 2026, 20:15 UTC".
fn expiry_words(expires: i64) -> String {
    OffsetDateTime::from_unix_timestamp(expires)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// `sample-<program>-<nonce>`, with only characters safe in a file name and a message id.
fn file_stem(sample: &SampleJob<'_>) -> String {
    let nonce: String = sample
        .nonce
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    format!("sample-{}-{nonce}", sample.program_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_reads_as_a_date_and_the_file_stem_is_safe() {
        assert_eq!(expiry_words(1_797_279_300), "14 December 2026, 20:15 UTC");
        let job = SampleJob {
            program_id: "prg_x",
            channel: "email",
            to: "a@b.example",
            expires: 1,
            nonce: "../etc/passwd",
            sent_by: "Mia",
        };
        assert_eq!(file_stem(&job), "sample-prg_x-etcpasswd");
    }
}
