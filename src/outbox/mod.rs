//! The outbox workers: claim due jobs, deliver them, and record what happened. Every job is
//! written in the same transaction as the change that needs it (see `storage::changes`), so
//! nothing is lost when a process dies between the change and the delivery; a job whose
//! worker died is taken back when its lease runs out. Delivery is at least once.

mod backoff;
mod campaigns;
mod counters;
mod deliver;
mod google;
mod messages;
mod webhook;
mod worker;

pub use backoff::Backoff;
pub use counters::{MessageResult, OutboxCounters, PushResult, WebhookResult};
pub use deliver::Apns;
pub use google::Google;
pub use worker::{Outbox, OutboxConfig};
