//! The outbox workers: claim due jobs, deliver them, and record what happened. Every job is
//! written in the same transaction as the change that needs it (see `storage::changes`), so
//! nothing is lost when a process dies between the change and the delivery; a job whose
//! worker died is taken back when its lease runs out. Delivery is at least once.
//!
//! `worker` claims batches and hands each job to the handler of its family: `fan_out`
//! (changed cards and programs), `apns`, `google`, `webhook`, `messages` (email and SMS),
//! `campaigns`, `console` (console users' invitation and reset links) and `sample` (sample
//! cards sent from the designer). They share `jobs`
//! (store, clock, lease and retry rules); `housekeeping` runs beside the workers.

mod apns;
mod backoff;
mod campaigns;
mod console;
mod counters;
mod fan_out;
mod google;
mod housekeeping;
mod jobs;
mod messages;
mod sample;
mod webhook;
mod worker;

pub use apns::Apns;
pub use backoff::Backoff;
pub use counters::{MessageResult, OutboxCounters, PushResult, WebhookResult};
pub use google::Google;
pub use jobs::OutboxConfig;
pub use worker::Outbox;
