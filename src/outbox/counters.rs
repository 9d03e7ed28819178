//! What the workers did since start, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::distribution::MessageChannel;

/// How one push ended, as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushResult {
    Delivered,
    Unregistered,
    BadDeviceToken,
    Rejected,
    Forbidden,
    Retried,
    GaveUp,
    Skipped,
}

impl PushResult {
    pub const ALL: [PushResult; 8] = [
        PushResult::Delivered,
        PushResult::Unregistered,
        PushResult::BadDeviceToken,
        PushResult::Rejected,
        PushResult::Forbidden,
        PushResult::Retried,
        PushResult::GaveUp,
        PushResult::Skipped,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PushResult::Delivered => "delivered",
            PushResult::Unregistered => "unregistered",
            PushResult::BadDeviceToken => "bad_device_token",
            PushResult::Rejected => "rejected",
            PushResult::Forbidden => "forbidden",
            PushResult::Retried => "retried",
            PushResult::GaveUp => "gave_up",
            PushResult::Skipped => "skipped",
        }
    }
}

/// How one webhook delivery attempt ended, as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// The endpoint answered 2xx.
    Delivered,
    /// Another answer, a timeout or a connection error; it will be tried again.
    Retried,
    /// The same, on the last attempt: recorded as failed.
    GaveUp,
    /// 410 Gone: the endpoint was switched off and the delivery failed.
    Gone,
    /// Not sent: the endpoint was switched off or deleted after the event.
    Skipped,
}

impl WebhookResult {
    pub const ALL: [WebhookResult; 5] = [
        WebhookResult::Delivered,
        WebhookResult::Retried,
        WebhookResult::GaveUp,
        WebhookResult::Gone,
        WebhookResult::Skipped,
    ];

    pub fn label(self) -> &'static str {
        match self {
            WebhookResult::Delivered => "delivered",
            WebhookResult::Retried => "retried",
            WebhookResult::GaveUp => "gave_up",
            WebhookResult::Gone => "gone",
            WebhookResult::Skipped => "skipped",
        }
    }
}

/// How handling one email or SMS ended, as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageResult {
    /// Accepted by the relay or provider (or written to the development folder).
    Delivered,
    /// Not sent: voided card, no address, no consent, unsubscribed.
    Skipped,
    /// A temporary problem; it will be tried again.
    Retried,
    /// Refused for good, too long, or the attempts were used up.
    Failed,
}

impl MessageResult {
    pub const ALL: [MessageResult; 4] = [
        MessageResult::Delivered,
        MessageResult::Skipped,
        MessageResult::Retried,
        MessageResult::Failed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MessageResult::Delivered => "delivered",
            MessageResult::Skipped => "skipped",
            MessageResult::Retried => "retried",
            MessageResult::Failed => "failed",
        }
    }
}

#[derive(Debug, Default)]
pub struct OutboxCounters {
    pushes: [AtomicU64; 8],
    webhooks: [AtomicU64; 5],
    /// By channel (email, sms), then outcome.
    messages: [[AtomicU64; 4]; 2],
    pub jobs_done: AtomicU64,
    pub jobs_failed: AtomicU64,
    pub jobs_retried: AtomicU64,
    pub fan_outs: AtomicU64,
}

impl OutboxCounters {
    pub fn push(&self, result: PushResult) {
        self.pushes[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn pushes(&self, result: PushResult) -> u64 {
        self.pushes[result as usize].load(Ordering::Relaxed)
    }

    pub fn webhook(&self, result: WebhookResult) {
        self.webhooks[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn webhooks(&self, result: WebhookResult) -> u64 {
        self.webhooks[result as usize].load(Ordering::Relaxed)
    }

    pub fn message(&self, channel: MessageChannel, result: MessageResult) {
        self.messages[channel_index(channel)][result as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn messages(&self, channel: MessageChannel, result: MessageResult) -> u64 {
        self.messages[channel_index(channel)][result as usize].load(Ordering::Relaxed)
    }
}

fn channel_index(channel: MessageChannel) -> usize {
    match channel {
        MessageChannel::Email => 0,
        MessageChannel::Sms => 1,
    }
}
