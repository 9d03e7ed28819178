//! Outbox jobs: what must be delivered after a change, written in the same transaction as
//! the change. A job is a kind plus a JSON payload; the same table carries Google updates,
//! email, SMS and webhooks, each a variant here.

use serde::{Deserialize, Serialize};

use super::apple_ids::{PassTypeId, SerialNumber};
use super::device::PushToken;
use super::ids::{EventId, ProgramId, WebhookId};

/// A job as stored: its `kind` and the fields of that kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(as = OutboxJobPayload)]
pub enum Job {
    /// One member's card changed: tell every wallet that holds it.
    PassChanged { serial: String },
    /// Something every card of the program shows changed (design, tiers, images). Split into
    /// `apple_pushes` ranges, a batch of registrations each; `after` is the last
    /// registration already covered, so a restart resumes.
    ProgramChanged { program_id: String, after: i64 },
    /// One APNs push to every device holding a card of the program whose registration id is
    /// in `after + 1 ..= upto`: pushed straight from the registrations, with an `apple_push`
    /// job written only for a push that must be retried or that failed.
    ApplePushes {
        program_id: String,
        after: i64,
        upto: i64,
    },
    /// One APNs push to one device for one pass type.
    ApplePush {
        pass_type_id: String,
        push_token: String,
    },
    /// Bring the member's Google Wallet object up to date (and notify when it should).
    GoogleObject { member_id: String },
    /// Bring the program's Google Wallet class up to date.
    GoogleClass { program_id: String },
    /// POST one event to one webhook endpoint.
    Webhook {
        event_id: String,
        endpoint_id: String,
    },
    /// Send one stored message (member, template, data: see `storage::messages`) by email.
    Email { message_id: i64 },
    /// Send one stored message by SMS.
    Sms { message_id: i64 },
    /// Add the next batch of a campaign run's messages: audience members after `after` (a
    /// member id; "" to start). `run` names the run (its start, microseconds), so a re-run
    /// of the same batch adds nothing twice.
    CampaignBatch {
        campaign_id: String,
        run: i64,
        after: String,
    },
    /// Email a console user their one-time link (an invitation or a password reset). The
    /// payload names the link; the link's secret part is derived again when it is sent.
    ConsoleEmail { link_id: String },
    /// Send a sample card of the program's saved design to a console user's phone (the
    /// designer's "send a sample to my phone"): `channel` `email` or `sms`, to address `to`;
    /// the link, working until `expires` (seconds since the epoch), is signed again when it
    /// is sent. `nonce` is the form's, so one form sent twice queues one message;
    /// `sent_by` names who asked (the message says so).
    SampleCard {
        program_id: String,
        channel: String,
        to: String,
        expires: i64,
        nonce: String,
        sent_by: String,
    },
}

impl Job {
    pub fn pass_changed(serial: &SerialNumber) -> Job {
        Job::PassChanged {
            serial: serial.as_str().to_string(),
        }
    }

    pub fn program_changed(program: &ProgramId) -> Job {
        Job::ProgramChanged {
            program_id: program.as_str().to_string(),
            after: 0,
        }
    }

    pub fn apple_push(topic: &PassTypeId, token: &PushToken) -> Job {
        Job::ApplePush {
            pass_type_id: topic.as_str().to_string(),
            push_token: token.as_str().to_string(),
        }
    }

    pub fn webhook(event: &EventId, endpoint: &WebhookId) -> Job {
        Job::Webhook {
            event_id: event.as_str().to_string(),
            endpoint_id: endpoint.as_str().to_string(),
        }
    }

    /// Every kind name, in the order of the variants.
    pub const KINDS: [&'static str; 12] = [
        "pass_changed",
        "program_changed",
        "apple_pushes",
        "apple_push",
        "google_object",
        "google_class",
        "webhook",
        "email",
        "sms",
        "campaign_batch",
        "console_email",
        "sample_card",
    ];

    /// The stored kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::PassChanged { .. } => "pass_changed",
            Job::ProgramChanged { .. } => "program_changed",
            Job::ApplePush { .. } => "apple_push",
            Job::ApplePushes { .. } => "apple_pushes",
            Job::GoogleObject { .. } => "google_object",
            Job::GoogleClass { .. } => "google_class",
            Job::Webhook { .. } => "webhook",
            Job::Email { .. } => "email",
            Job::Sms { .. } => "sms",
            Job::CampaignBatch { .. } => "campaign_batch",
            Job::ConsoleEmail { .. } => "console_email",
            Job::SampleCard { .. } => "sample_card",
        }
    }

    /// Jobs with the same key coalesce while one is pending: many changes to one card in a
    /// short window become one fan-out, and one push per device. Webhook deliveries never
    /// coalesce: each event reaches each endpoint.
    pub fn dedup_key(&self) -> String {
        match self {
            Job::PassChanged { serial } => format!("pass:{serial}"),
            Job::ProgramChanged { program_id, .. } => format!("program:{program_id}"),
            Job::ApplePush {
                pass_type_id,
                push_token,
            } => Job::apple_push_key(pass_type_id, push_token),
            Job::ApplePushes {
                program_id,
                after,
                upto,
            } => format!("apns-range:{program_id}:{after}:{upto}"),
            Job::GoogleObject { member_id } => format!("google-object:{member_id}"),
            Job::GoogleClass { program_id } => format!("google-class:{program_id}"),
            Job::Webhook {
                event_id,
                endpoint_id,
            } => format!("webhook:{event_id}:{endpoint_id}"),
            Job::Email { message_id } => format!("email:{message_id}"),
            Job::Sms { message_id } => format!("sms:{message_id}"),
            Job::CampaignBatch {
                campaign_id,
                run,
                after,
            } => format!("campaign:{campaign_id}:{run}:{after}"),
            Job::ConsoleEmail { link_id } => format!("console-email:{link_id}"),
            Job::SampleCard {
                program_id, nonce, ..
            } => format!("sample-card:{program_id}:{nonce}"),
        }
    }

    /// The key of the `apple_push` job for this device and pass type, without building one.
    pub fn apple_push_key(pass_type_id: &str, push_token: &str) -> String {
        format!("apns:{pass_type_id}:{push_token}")
    }

    pub fn to_json(&self) -> String {
        // A derived Serialize of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Job, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn jobs_round_trip_and_coalesce_by_target() {
        let serial = SerialNumber::generate(&OsRandom);
        let job = Job::pass_changed(&serial);
        assert_eq!(Job::from_json(&job.to_json()).unwrap(), job);
        assert_eq!(job.kind(), "pass_changed");
        assert_eq!(job.dedup_key(), format!("pass:{serial}"));
        let topic = PassTypeId::parse("pass.com.example.x").unwrap();
        let token = PushToken::parse(&"ab".repeat(32)).unwrap();
        let push = Job::apple_push(&topic, &token);
        assert_eq!(Job::from_json(&push.to_json()).unwrap(), push);
        assert_ne!(
            push.dedup_key(),
            Job::apple_push(&topic, &PushToken::parse(&"cd".repeat(32)).unwrap()).dedup_key()
        );
        assert!(Job::from_json(r#"{"kind":"nope"}"#).is_err());
    }

    #[test]
    fn every_kind_is_listed_once_and_is_its_serde_tag() {
        let s = || String::from("x");
        let every = [
            Job::PassChanged { serial: s() },
            Job::ProgramChanged {
                program_id: s(),
                after: 0,
            },
            Job::ApplePushes {
                program_id: s(),
                after: 0,
                upto: 1,
            },
            Job::ApplePush {
                pass_type_id: s(),
                push_token: s(),
            },
            Job::GoogleObject { member_id: s() },
            Job::GoogleClass { program_id: s() },
            Job::Webhook {
                event_id: s(),
                endpoint_id: s(),
            },
            Job::Email { message_id: 1 },
            Job::Sms { message_id: 1 },
            Job::CampaignBatch {
                campaign_id: s(),
                run: 1,
                after: s(),
            },
            Job::ConsoleEmail { link_id: s() },
            Job::SampleCard {
                program_id: s(),
                channel: s(),
                to: s(),
                expires: 1,
                nonce: s(),
                sent_by: s(),
            },
        ];
        let kinds: Vec<&str> = every.iter().map(Job::kind).collect();
        assert_eq!(kinds, Job::KINDS);
        for job in every {
            let v: serde_json::Value = serde_json::from_str(&job.to_json()).unwrap();
            assert_eq!(v["kind"], job.kind());
        }
    }

    #[test]
    fn webhook_jobs_are_unique_per_event_and_endpoint() {
        let event = EventId::generate(&OsRandom);
        let a = WebhookId::generate(&OsRandom);
        let b = WebhookId::generate(&OsRandom);
        let job = Job::webhook(&event, &a);
        assert_eq!(Job::from_json(&job.to_json()).unwrap(), job);
        assert_eq!(job.kind(), "webhook");
        assert_ne!(job.dedup_key(), Job::webhook(&event, &b).dedup_key());
        assert_ne!(
            job.dedup_key(),
            Job::webhook(&EventId::generate(&OsRandom), &a).dedup_key()
        );
    }
}
