//! Distribution: the channels cards reach people through, link codes, and where a consent
//! change came from.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{is_base32, random_base32};
use super::Invalid;
use crate::clock::Random;

/// How a campaign reaches people. Email and SMS send messages; print and web only carry
/// links (a poster's QR code, a button on the shop's site).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Print,
    Web,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Sms, Channel::Print, Channel::Web];

    pub fn parse(s: &str) -> Result<Channel, Invalid> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Invalid::new("channel", "must be one of email, sms, print, web"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Print => "print",
            Channel::Web => "web",
        }
    }

    /// The messaging channel, for email and SMS.
    pub fn messaging(self) -> Option<MessageChannel> {
        match self {
            Channel::Email => Some(MessageChannel::Email),
            Channel::Sms => Some(MessageChannel::Sms),
            Channel::Print | Channel::Web => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The channels a message is sent through, and that a member consents to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Email,
    Sms,
}

impl MessageChannel {
    pub fn parse(s: &str) -> Result<MessageChannel, Invalid> {
        match s {
            "email" => Ok(MessageChannel::Email),
            "sms" => Ok(MessageChannel::Sms),
            _ => Err(Invalid::new("channel", "must be email or sms")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
        }
    }
}

/// What a message is for, which decides whether it needs the member's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessagePurpose {
    /// The member's own card (the card link they asked for, sent again): sent whether or
    /// not they agreed to offers, to the address they gave.
    Service,
    /// Offers, campaigns and reminders: only with the member's consent for the channel.
    Marketing,
}

impl MessagePurpose {
    pub fn parse(s: &str) -> Result<MessagePurpose, Invalid> {
        match s {
            "service" => Ok(MessagePurpose::Service),
            "marketing" => Ok(MessagePurpose::Marketing),
            _ => Err(Invalid::new("purpose", "must be service or marketing")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessagePurpose::Service => "service",
            MessagePurpose::Marketing => "marketing",
        }
    }
}

/// Where a consent change came from, kept in the member's consent history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// Enrolled through the API with the flag set.
    Enrollment,
    /// Ticked or left unticked on the landing page's enrollment form.
    LandingPage,
    /// Changed by a member update through the API.
    Api,
    /// A row of a CSV import.
    Import,
    /// The unsubscribe page a message linked to.
    UnsubscribeLink,
    /// A mail client's one-click unsubscribe (RFC 8058).
    ListUnsubscribe,
}

impl ConsentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentSource::Enrollment => "enrollment",
            ConsentSource::LandingPage => "landing_page",
            ConsentSource::Api => "api",
            ConsentSource::Import => "import",
            ConsentSource::UnsubscribeLink => "unsubscribe_link",
            ConsentSource::ListUnsubscribe => "list_unsubscribe",
        }
    }
}

/// What a link opens: enrollment in a program, or one member's card.
///
/// `enroll`: the sign-up form of a program; `card`: one member's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Enroll,
    Card,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Enroll => "enroll",
            LinkKind::Card => "card",
        }
    }

    pub fn parse(s: &str) -> Result<LinkKind, Invalid> {
        match s {
            "enroll" => Ok(LinkKind::Enroll),
            "card" => Ok(LinkKind::Card),
            _ => Err(Invalid::new("kind", "must be enroll or card")),
        }
    }

    /// Random bytes in a new code. An enrollment link is public and short enough to type
    /// from a poster (40 bits); a personal link opens one member's card, so it carries 120
    /// bits and cannot be guessed or enumerated.
    fn entropy(self) -> usize {
        match self {
            LinkKind::Enroll => 5,
            LinkKind::Card => 15,
        }
    }
}

/// The code in `/c/{code}`: lower-case base32, 8 characters for enrollment links and 24 for
/// personal ones.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LinkCode(String);

/// 8 characters for an enrollment link, 24 for a personal card link.
impl utoipa::PartialSchema for LinkCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^([a-z2-7]{8}|[a-z2-7]{24})$"))
            .description(Some(
                "8 characters for an enrollment link, 24 for a personal card link.",
            ))
            .examples(["k7mq2xzd"])
            .into()
    }
}

impl utoipa::ToSchema for LinkCode {}

impl LinkCode {
    pub fn generate(kind: LinkKind, rng: &dyn Random) -> LinkCode {
        LinkCode(random_base32(rng, kind.entropy()))
    }

    pub fn parse(s: &str) -> Result<LinkCode, Invalid> {
        if matches!(s.len(), 8 | 24) && is_base32(s) {
            Ok(LinkCode(s.to_string()))
        } else {
            Err(Invalid::new("code", "is not a link code"))
        }
    }

    pub fn from_trusted(s: String) -> LinkCode {
        LinkCode(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal codes open a member's card: never print one whole.
        write!(f, "LinkCode({}…)", &self.0[..self.0.len().min(4)])
    }
}

/// The kind of device a landing page visitor uses, from the User-Agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Ios,
    Android,
    Desktop,
}

impl Platform {
    /// iPhone, iPad and iPod user agents (iPadOS in desktop mode says Macintosh and is
    /// treated as a desktop, which still offers both buttons); Android; everything else.
    pub fn from_user_agent(ua: &str) -> Platform {
        if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
            Platform::Ios
        } else if ua.contains("Android") {
            Platform::Android
        } else {
            Platform::Desktop
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Desktop => "desktop",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn channels_parse_and_name_themselves() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()).unwrap(), c);
        }
        assert!(Channel::parse("fax").is_err());
        assert_eq!(Channel::Sms.messaging(), Some(MessageChannel::Sms));
        assert_eq!(Channel::Print.messaging(), None);
        assert!(MessageChannel::parse("print").is_err());
    }

    #[test]
    fn link_codes_have_the_length_of_their_kind() {
        let enroll = LinkCode::generate(LinkKind::Enroll, &OsRandom);
        let card = LinkCode::generate(LinkKind::Card, &OsRandom);
        assert_eq!(enroll.as_str().len(), 8);
        assert_eq!(card.as_str().len(), 24);
        assert_eq!(LinkCode::parse(card.as_str()).unwrap(), card);
        assert!(LinkCode::parse("ABCDEFGH").is_err());
        assert!(LinkCode::parse("abcdefg").is_err());
        assert!(!format!("{card:?}").contains(&card.as_str()[5..]));
    }

    #[test]
    fn platforms_come_from_the_user_agent() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15";
        let pixel =
            "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/130.0 Mobile";
        let mac =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15";
        assert_eq!(Platform::from_user_agent(iphone), Platform::Ios);
        assert_eq!(Platform::from_user_agent(pixel), Platform::Android);
        assert_eq!(Platform::from_user_agent(mac), Platform::Desktop);
        assert_eq!(Platform::from_user_agent(""), Platform::Desktop);
    }
}
