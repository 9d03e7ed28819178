//! Delivering `email` and `sms` jobs: load the stored message, check again that the member
//! can receive it (the card may have been voided, the address removed or consent withdrawn
//! since it was queued), render it, hand it to the relay or provider, and record the outcome
//! on the message: delivered with the reference, skipped or failed with the reason (written
//! with the job's outcome, in the worker's one write per batch). A
//! temporary problem is retried with the outbox's backoff until the attempts are used up.
//!
//! For SMS the segment count is computed before sending: a text over `sms.max_segments` fails
//! with the reason `too_long` and is never posted. The count goes into the log and the job's
//! note (`GET /api/v1/outbox/jobs`), e.g. `2 segments (gsm7)`.

use std::sync::Arc;

use super::counters::MessageResult;
use super::jobs::{Handled, Jobs};
use crate::delivery::email::Email;
use crate::delivery::outcome::SendOutcome;
use crate::domain::distribution::{Channel, LinkCode, LinkKind, MessageChannel};
use crate::domain::sms::sms_size;
use crate::messaging::render::{render_email, render_sms, MessageContext};
use crate::messaging::Messaging;
use crate::storage::{
    skip_reason, ClaimedJob, Finish, MemberKey, MessageOutcome, MessageRecord, NewLink, StoreError,
};

/// What one attempt at a message came to, before it is recorded.
enum Attempt {
    Sent {
        reference: String,
        note: Option<String>,
    },
    Skip(&'static str),
    Fail {
        reason: String,
        note: String,
    },
    Retry {
        reason: String,
    },
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Attempt {
        Attempt::Retry {
            reason: format!("storage: {e:#}"),
        }
    }
}

/// `email` and `sms` jobs.
pub(super) struct MessageHandler {
    pub jobs: Arc<Jobs>,
    /// Sends email and SMS; `None` only in an outbox built without it.
    pub messaging: Option<Arc<Messaging>>,
}

impl MessageHandler {
    pub async fn handle(
        &self,
        job: &ClaimedJob,
        message_id: i64,
        channel: MessageChannel,
    ) -> Handled {
        let Some(messaging) = &self.messaging else {
            return Handled::Finish(self.jobs.retry_or_fail(
                job,
                "email and SMS sending is not set up on this instance",
                None,
            ));
        };
        let message = match self.jobs.store.message(message_id).await {
            Ok(m) => m,
            Err(StoreError::NotFound) => {
                return Handled::Finish(Finish::Failed {
                    error: "the message is no longer stored".into(),
                })
            }
            Err(e) => {
                let why = format!("reading the message: {e:#}");
                return Handled::Finish(self.jobs.retry_or_fail(job, &why, None));
            }
        };
        // A failed message is sent again when an operator retries its job; a delivered or
        // skipped one never is (a job taken back after its message was recorded).
        if !matches!(message.status.as_str(), "queued" | "failed") {
            return Handled::Finish(Finish::Done {
                note: Some(format!("message already {}", message.status)),
            });
        }
        if message.channel != channel {
            return Handled::Finish(Finish::Failed {
                error: format!("the message is for {}", message.channel.as_str()),
            });
        }
        let attempt = match self.attempt(messaging, &message).await {
            Ok(a) | Err(a) => a,
        };
        self.record(job, &message, attempt)
    }

    async fn attempt(
        &self,
        messaging: &Messaging,
        message: &MessageRecord,
    ) -> Result<Attempt, Attempt> {
        let channel = message.channel;
        let (member, program) = self
            .jobs
            .store
            .member_and_program(MemberKey::Id(&message.member_id))
            .await?;
        if let Some(reason) = skip_reason(&member, channel, message.purpose) {
            return Ok(Attempt::Skip(self.why_not(message, reason).await?));
        }
        let card_url = match &message.link_code {
            Some(code) => messaging.card_url(&LinkCode::from_trusted(code.clone())),
            None => {
                let link = NewLink {
                    program_id: program.id.clone(),
                    kind: LinkKind::Card,
                    member_id: Some(member.id.clone()),
                    campaign_id: None,
                    channel: Some(match channel {
                        MessageChannel::Email => Channel::Email,
                        MessageChannel::Sms => Channel::Sms,
                    }),
                    label: None,
                };
                let link = self
                    .jobs
                    .store
                    .create_link(&link, self.jobs.clock.now())
                    .await?;
                messaging.card_url(&link.code)
            }
        };
        let fail = |e: anyhow::Error| Attempt::Fail {
            reason: format!("template: {e:#}"),
            note: format!("template: {e:#}"),
        };
        let stem = message.id.to_string();
        let (outcome, note) = match channel {
            MessageChannel::Email => {
                let unsubscribe = messaging.unsubscribe_url(&member.id, channel);
                let ctx = MessageContext::new(
                    &member,
                    &program,
                    card_url,
                    Some(unsubscribe.clone()),
                    &message.data,
                );
                let rendered = render_email(&message.template, &ctx).map_err(fail)?;
                let Some(to) = member.email.clone() else {
                    return Ok(Attempt::Skip("no_address"));
                };
                let email = Email {
                    to,
                    to_name: member.name.clone(),
                    subject: rendered.subject,
                    text: rendered.text,
                    html: rendered.html,
                    message_id: format!(
                        "<passwright.{}.{}@{}>",
                        message.id,
                        message.created_at.unix_timestamp(),
                        messaging.email.domain()
                    ),
                    unsubscribe_url: Some(unsubscribe),
                    file_stem: stem,
                };
                (messaging.email.send(&email).await, None)
            }
            MessageChannel::Sms => {
                let ctx = MessageContext::new(&member, &program, card_url, None, &message.data);
                let body = render_sms(&message.template, &ctx).map_err(fail)?;
                let size = sms_size(&body);
                let note = format!("{} segments ({})", size.segments, size.encoding.as_str());
                tracing::info!(
                    message = message.id,
                    segments = size.segments,
                    encoding = size.encoding.as_str(),
                    "SMS rendered"
                );
                if size.segments > messaging.max_segments {
                    return Ok(Attempt::Fail {
                        reason: "too_long".into(),
                        note: format!("too_long: {note}, at most {}", messaging.max_segments),
                    });
                }
                let Some(to) = member.phone.clone() else {
                    return Ok(Attempt::Skip("no_address"));
                };
                (messaging.sms.send(&to, &body, &stem).await, Some(note))
            }
        };
        Ok(match outcome {
            SendOutcome::Delivered { reference } => Attempt::Sent { reference, note },
            SendOutcome::Retry { reason } => Attempt::Retry { reason },
            SendOutcome::Failed { reason } => Attempt::Fail {
                note: reason.clone(),
                reason,
            },
        })
    }

    /// The reason a message is not sent; `unsubscribed` when consent was last withdrawn
    /// through an unsubscribe link or a mail client's one-click unsubscribe.
    async fn why_not(
        &self,
        message: &MessageRecord,
        reason: &'static str,
    ) -> Result<&'static str, StoreError> {
        if reason == "no_consent"
            && self
                .jobs
                .store
                .unsubscribed(&message.member_id, message.channel)
                .await?
        {
            return Ok("unsubscribed");
        }
        Ok(reason)
    }

    /// What the attempt comes to: the job's finish and the message's outcome, written
    /// together by the worker after its batch; a retry leaves the message queued.
    fn record(&self, job: &ClaimedJob, message: &MessageRecord, attempt: Attempt) -> Handled {
        let channel = message.channel;
        let (finish, status, reason, reference, result) = match attempt {
            Attempt::Sent { reference, note } => {
                tracing::info!(
                    message = message.id,
                    channel = channel.as_str(),
                    "message delivered"
                );
                (
                    Finish::Done { note },
                    "delivered",
                    None,
                    Some(reference),
                    MessageResult::Delivered,
                )
            }
            Attempt::Skip(reason) => {
                tracing::info!(
                    message = message.id,
                    channel = channel.as_str(),
                    reason,
                    "message skipped"
                );
                (
                    Finish::Done {
                        note: Some(format!("not sent: {reason}")),
                    },
                    "skipped",
                    Some(reason.to_string()),
                    None,
                    MessageResult::Skipped,
                )
            }
            Attempt::Fail { reason, note } => {
                tracing::warn!(message = message.id, channel = channel.as_str(), error = %note, "message failed");
                (
                    Finish::Failed { error: note },
                    "failed",
                    Some(reason),
                    None,
                    MessageResult::Failed,
                )
            }
            Attempt::Retry { reason } => match self.jobs.retry_or_fail(job, &reason, None) {
                Finish::Failed { error } => (
                    Finish::Failed {
                        error: error.clone(),
                    },
                    "failed",
                    Some(error),
                    None,
                    MessageResult::Failed,
                ),
                retry => {
                    self.jobs.counters.message(channel, MessageResult::Retried);
                    return Handled::Finish(retry);
                }
            },
        };
        Handled::Message {
            finish,
            outcome: MessageOutcome {
                id: message.id,
                status,
                reason,
                provider_ref: reference,
            },
            counted: (channel, result),
        }
    }
}
