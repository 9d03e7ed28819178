//! `console_email` jobs: an invitation or a password-reset link mailed to a console user.
//! The email is written from the stored link when the job runs (`accounts::mail`); a link
//! used, expired or replaced by then is not sent.

use std::sync::Arc;

use super::jobs::Jobs;
use crate::accounts::mail::Mail;
use crate::accounts::Accounts;
use crate::messaging::Messaging;
use crate::storage::{ClaimedJob, Finish};

pub(super) struct ConsoleHandler {
    pub jobs: Arc<Jobs>,
    pub accounts: Option<Arc<Accounts>>,
}

impl ConsoleHandler {
    pub async fn handle(
        &self,
        job: &ClaimedJob,
        link_id: &str,
        messaging: Option<&Arc<Messaging>>,
    ) -> Finish {
        let (Some(accounts), Some(messaging)) = (&self.accounts, messaging) else {
            return self.jobs.retry_or_fail(
                job,
                "console email is not set up on this instance",
                None,
            );
        };
        let mail = accounts
            .link_email(link_id, messaging.urls.base(), messaging.email.domain())
            .await;
        let email = match mail {
            Ok(Mail::Send(email)) => email,
            Ok(Mail::Moot) => {
                return Finish::Done {
                    note: Some("the link was used, expired or replaced: not sent".into()),
                }
            }
            Err(e) => return self.jobs.retry_or_fail(job, &format!("{e:#}"), None),
        };
        let sent = messaging.email.send(&email).await;
        self.jobs.finished_send(job, sent)
    }
}
