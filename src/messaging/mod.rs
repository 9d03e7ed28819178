//! Email and SMS to members: what the outbox needs to send a stored message (the senders,
//! the unsubscribe key, the public address links point to), the template context, and the
//! unsubscribe tokens the `/u/{token}` page checks.

pub mod render;
pub mod unsubscribe;

use crate::cards::tokens::SampleKey;
use crate::delivery::email::EmailSender;
use crate::delivery::sms::SmsSender;
use crate::domain::distribution::{LinkCode, MessageChannel};
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::urls::PublicUrls;
use unsubscribe::UnsubscribeKey;

#[derive(Debug)]
pub struct Messaging {
    pub email: EmailSender,
    pub sms: SmsSender,
    pub unsubscribe: UnsubscribeKey,
    /// Where the links in messages point.
    pub urls: PublicUrls,
    /// A rendered SMS longer than this is not sent.
    pub max_segments: usize,
    /// Signs the links of sample cards sent from the designer.
    pub samples: SampleKey,
}

impl Messaging {
    pub fn card_url(&self, code: &LinkCode) -> String {
        self.urls.link(code)
    }

    /// The link to a sample card of `program`'s saved design, working until `expires`
    /// (seconds since the epoch).
    pub fn sample_url(&self, program: &ProgramId, expires: i64) -> String {
        self.urls.sample(&self.samples.token(program, expires))
    }

    pub fn unsubscribe_url(&self, member: &MemberId, channel: MessageChannel) -> String {
        self.urls
            .unsubscribe(&self.unsubscribe.token(member, channel))
    }
}
