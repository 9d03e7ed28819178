//! Delivering `google_object` and `google_class` jobs: bring Google Wallet up to date with
//! the member or program, notifying the card holder when their tier changed or a reward
//! became affordable, within Google's limit of notifying messages.

use std::sync::Arc;

use super::jobs::Jobs;
use crate::cards::google::GoogleCards;
use crate::cards::Cards;
use crate::delivery::google::GoogleOutcome;
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::job::Job;
use crate::storage::{ClaimedJob, Finish};

/// How this instance reaches Google Wallet.
#[derive(Clone, Default)]
pub enum Google {
    /// Not configured: jobs end as done with a note (there are no Google objects then).
    #[default]
    Off,
    On {
        google: Arc<GoogleCards>,
        cards: Arc<Cards>,
    },
}

/// `google_object` and `google_class` jobs.
pub(super) struct GoogleHandler {
    pub jobs: Arc<Jobs>,
    pub google: Google,
}

impl GoogleHandler {
    pub async fn handle(&self, claimed: &ClaimedJob, job: &Job) -> Finish {
        let Google::On { google, cards } = &self.google else {
            return Finish::Done {
                note: Some("Google Wallet is not configured".into()),
            };
        };
        let now = self.jobs.clock.now();
        let outcome = match job {
            Job::GoogleObject { member_id } => {
                google
                    .update_object(
                        &self.jobs.store,
                        cards,
                        &MemberId::from_trusted(member_id.clone()),
                        now,
                    )
                    .await
            }
            Job::GoogleClass { program_id } => {
                google
                    .update_class(
                        &self.jobs.store,
                        &ProgramId::from_trusted(program_id.clone()),
                    )
                    .await
            }
            _ => GoogleOutcome::Failed {
                status: None,
                reason: "not a Google job".into(),
            },
        };
        match outcome {
            GoogleOutcome::Done => Finish::Done { note: None },
            GoogleOutcome::Retry {
                status,
                reason,
                after,
            } => {
                let error = match status {
                    Some(s) => format!("Google {s}: {reason}"),
                    None => format!("Google: {reason}"),
                };
                self.jobs.retry_or_fail(claimed, &error, after)
            }
            GoogleOutcome::Failed { status, reason } => {
                tracing::error!(
                    ?status,
                    reason,
                    "Google Wallet refused an update; not retried"
                );
                Finish::Failed {
                    error: match status {
                        Some(s) => format!("Google {s}: {reason}"),
                        None => format!("Google: {reason}"),
                    },
                }
            }
            // Only messages can exceed the quota, and those fall back to silent ones.
            GoogleOutcome::QuotaExceeded => Finish::Done {
                note: Some("notification quota exceeded".into()),
            },
        }
    }
}
