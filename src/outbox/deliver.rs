//! Delivering an `apple_push` job through APNs and turning Apple's answer into what happens
//! next: done, registration removed (410 only), recorded as failed, or retried later.

use std::sync::Arc;
use std::time::Duration;

use super::counters::PushResult;
use super::worker::Outbox;
use crate::delivery::apns::{ApnsClient, PushOutcome};
use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::PushToken;
use crate::storage::{ClaimedJob, Finish};

/// How this instance reaches APNs.
#[derive(Clone)]
pub enum Apns {
    /// Pushes are recorded as skipped and logged, with the reason (development
    /// certificates cannot reach Apple; or switched off in settings).
    Off {
        reason: String,
    },
    On(Arc<ApnsClient>),
}

/// After a 403 the credential is broken until an operator fixes it: wait at least this long.
const FORBIDDEN_PAUSE: Duration = Duration::from_secs(300);

impl Outbox {
    pub(super) async fn apple_push(&self, job: &ClaimedJob, topic: &str, token: &str) -> Finish {
        let (Ok(topic), Ok(token)) = (PassTypeId::parse(topic), PushToken::parse(token)) else {
            return Finish::Failed {
                error: "push job with an invalid pass type id or push token".into(),
            };
        };
        let client = match &self.apns {
            Apns::On(client) => client,
            Apns::Off { reason } => {
                tracing::info!(?token, topic = topic.as_str(), "push not sent: {reason}");
                self.counters.push(PushResult::Skipped);
                return Finish::Done {
                    note: Some(format!("not sent: {reason}")),
                };
            }
        };
        let outcome = client.push(&topic, &token).await;
        match outcome {
            PushOutcome::Delivered { .. } => {
                self.counters.push(PushResult::Delivered);
                Finish::Done { note: None }
            }
            PushOutcome::Unregistered { since } => {
                self.counters.push(PushResult::Unregistered);
                let since = since.unwrap_or_else(|| self.clock.now());
                match self
                    .store
                    .drop_push_token(&topic, &token, since, self.clock.now())
                    .await
                {
                    Ok(removed) => {
                        tracing::info!(
                            ?token,
                            removed,
                            "APNs: device unregistered, registrations removed"
                        );
                        Finish::Done {
                            note: Some(format!(
                                "410 Unregistered: {removed} registrations removed"
                            )),
                        }
                    }
                    Err(e) => {
                        self.retry_or_fail(job, &format!("removing registrations: {e:#}"), None)
                    }
                }
            }
            PushOutcome::BadDeviceToken => {
                self.counters.push(PushResult::BadDeviceToken);
                tracing::warn!(?token, "APNs: BadDeviceToken; registration kept");
                Finish::Failed {
                    error: "400 BadDeviceToken (registration kept)".into(),
                }
            }
            PushOutcome::Rejected { status, reason } => {
                self.counters.push(PushResult::Rejected);
                tracing::error!(status, reason, "APNs rejected the request; not retried");
                Finish::Failed {
                    error: format!("{status} {reason}"),
                }
            }
            PushOutcome::Forbidden { reason } => {
                self.counters.push(PushResult::Forbidden);
                tracing::error!(
                    reason,
                    "APNs refused our credentials (403): check the Pass Type ID certificate or the .p8 key"
                );
                self.retry_or_fail(job, &format!("403 {reason}"), Some(FORBIDDEN_PAUSE))
            }
            PushOutcome::Retry {
                status,
                reason,
                after,
            } => {
                let finish = self.retry_or_fail(
                    job,
                    &match status {
                        Some(s) => format!("{s} {reason}"),
                        None => reason,
                    },
                    after,
                );
                self.counters.push(match finish {
                    Finish::Failed { .. } => PushResult::GaveUp,
                    _ => PushResult::Retried,
                });
                finish
            }
        }
    }
}
