//! Delivering `webhook` jobs: read the event and its endpoint, POST the signed body, and turn
//! the answer into what happens next: done on 2xx; on 410 Gone the endpoint is switched off
//! and the delivery fails; anything else is retried with the outbox's backoff until the
//! attempts are used up.

use super::counters::WebhookResult;
use std::sync::Arc;

use super::jobs::Jobs;
use crate::clock::rfc3339;
use crate::delivery::webhook::{Delivery, WebhookClient, WebhookOutcome};
use crate::domain::ids::{EventId, WebhookId};
use crate::storage::{ClaimedJob, Finish, StoreError, WebhookEvent};

/// The body sent: the event's envelope around its stored `data`, in this field order.
pub fn body(event: &WebhookEvent) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"id":{},"type":{},"created_at":{},"program_id":{},"data":{}}}"#,
        text(event.id.as_str()),
        text(&event.event_type),
        text(&rfc3339(event.created_at)),
        text(event.program_id.as_str()),
        event.data,
    )
}

/// `webhook` jobs.
pub(super) struct WebhookHandler {
    pub jobs: Arc<Jobs>,
    /// Posts the events; `None` only in an outbox built without it.
    pub client: Option<WebhookClient>,
}

impl WebhookHandler {
    pub async fn handle(&self, job: &ClaimedJob, event_id: &str, endpoint_id: &str) -> Finish {
        let (Ok(event_id), Ok(endpoint_id)) =
            (EventId::parse(event_id), WebhookId::parse(endpoint_id))
        else {
            return Finish::Failed {
                error: "webhook job with an invalid event or endpoint id".into(),
            };
        };
        let Some(client) = &self.client else {
            return self.jobs.retry_or_fail(
                job,
                "webhook delivery is not set up on this instance",
                None,
            );
        };
        let endpoint = match self.jobs.store.webhook(&endpoint_id).await {
            Ok(e) if e.active => e,
            Ok(_) => return self.skipped("the endpoint is switched off"),
            Err(StoreError::NotFound) => return self.skipped("the endpoint was deleted"),
            Err(e) => {
                return self
                    .jobs
                    .retry_or_fail(job, &format!("reading the endpoint: {e:#}"), None)
            }
        };
        let event = match self.jobs.store.webhook_event(&event_id).await {
            Ok(e) => e,
            Err(StoreError::NotFound) => {
                return Finish::Failed {
                    error: "the event is no longer stored".into(),
                }
            }
            Err(e) => {
                return self
                    .jobs
                    .retry_or_fail(job, &format!("reading the event: {e:#}"), None)
            }
        };
        let body = body(&event);
        let outcome = client
            .send(&Delivery {
                url: endpoint.url.as_str(),
                secret: endpoint.secret.expose(),
                event_id: event.id.as_str(),
                event_type: &event.event_type,
                body: body.as_bytes(),
                timestamp: self.jobs.clock.now().unix_timestamp(),
            })
            .await;
        match outcome {
            WebhookOutcome::Delivered { status } => {
                tracing::debug!(webhook = %endpoint.id, status, "webhook delivered");
                self.jobs.counters.webhook(WebhookResult::Delivered);
                Finish::Done { note: None }
            }
            WebhookOutcome::Gone => {
                let reason = format!(
                    "the endpoint answered 410 Gone on {}: switched off by passwright",
                    rfc3339(self.jobs.clock.now())
                );
                if let Err(e) = self
                    .jobs
                    .store
                    .disable_webhook(&endpoint.id, &reason, self.jobs.clock.now())
                    .await
                {
                    return self.jobs.retry_or_fail(
                        job,
                        &format!("switching the endpoint off: {e:#}"),
                        None,
                    );
                }
                tracing::warn!(webhook = %endpoint.id, "webhook endpoint answered 410 Gone; switched off");
                self.jobs.counters.webhook(WebhookResult::Gone);
                Finish::Failed {
                    error: "410 Gone: the endpoint was switched off".into(),
                }
            }
            WebhookOutcome::Retry { reason } => {
                let finish = self.jobs.retry_or_fail(job, &reason, None);
                self.jobs.counters.webhook(match finish {
                    Finish::Failed { .. } => WebhookResult::GaveUp,
                    _ => WebhookResult::Retried,
                });
                finish
            }
        }
    }

    fn skipped(&self, why: &str) -> Finish {
        self.jobs.counters.webhook(WebhookResult::Skipped);
        Finish::Done {
            note: Some(format!("not sent: {why}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ProgramId;

    #[test]
    fn the_body_wraps_the_stored_data_in_order() {
        let event = WebhookEvent {
            id: EventId::from_trusted("evt_aaaaaaaaaaaaaaaa".into()),
            program_id: ProgramId::from_trusted("prg_bbbbbbbbbbbbbbbb".into()),
            event_type: "points.changed".into(),
            data: r#"{"member":{"id":"mem_x"}}"#.into(),
            created_at: time::macros::datetime!(2026-11-23 10:00:00 UTC),
        };
        assert_eq!(
            body(&event),
            r#"{"id":"evt_aaaaaaaaaaaaaaaa","type":"points.changed","created_at":"2026-11-23T10:00:00Z","program_id":"prg_bbbbbbbbbbbbbbbb","data":{"member":{"id":"mem_x"}}}"#
        );
        // The body is what the API document says endpoints receive.
        let parsed: crate::domain::events::Envelope = serde_json::from_str(&body(&event)).unwrap();
        assert_eq!(parsed.id, "evt_aaaaaaaaaaaaaaaa");
        assert_eq!(parsed.event_type, "points.changed");
        assert_eq!(parsed.program_id, "prg_bbbbbbbbbbbbbbbb");
        assert_eq!(parsed.created_at, "2026-11-23T10:00:00Z");
        assert_eq!(parsed.data["member"]["id"], "mem_x");
    }
}
