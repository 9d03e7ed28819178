//! How handing one email or SMS to its relay or provider ended.

/// The outcome the outbox acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted: the relay's or provider's reference (the SMTP reply, the SMS's id, the file
    /// written in folder mode).
    Delivered { reference: String },
    /// Worth trying again: a temporary refusal, a timeout, a connection problem.
    Retry { reason: String },
    /// Refused for good: trying again would be refused again.
    Failed { reason: String },
}
