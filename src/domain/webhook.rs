//! Outgoing webhooks: the event types a program's endpoints can subscribe to, endpoint URLs
//! and signing secrets, and the JSON shapes events carry about members and ledger entries.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::ids::{random_base32, ProgramId, WebhookId};
use super::Invalid;
use crate::clock::Random;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    ScanAccepted,
    ScanRejected,
    RewardRedeemed,
    PointsChanged,
    MemberTierChanged,
    CardInstalled,
    CardRemoved,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::ScanAccepted,
        EventType::ScanRejected,
        EventType::RewardRedeemed,
        EventType::PointsChanged,
        EventType::MemberTierChanged,
        EventType::CardInstalled,
        EventType::CardRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ScanAccepted => "scan.accepted",
            EventType::ScanRejected => "scan.rejected",
            EventType::RewardRedeemed => "reward.redeemed",
            EventType::PointsChanged => "points.changed",
            EventType::MemberTierChanged => "member.tier_changed",
            EventType::CardInstalled => "card.installed",
            EventType::CardRemoved => "card.removed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        EventType::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                Invalid::new(
                    "",
                    format!(
                        "unknown event type {s:?}; one of {}, or \"*\"",
                        names.join(", ")
                    ),
                )
            })
    }
}

impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(EventType::ALL.map(EventType::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for EventType {}

/// An event type, or `*` for all of them (including types added later): what an endpoint's
/// `events` lists. Selectors travel as strings (see [`Subscription`]); this names their schema.
pub struct EventSelector;

impl utoipa::PartialSchema for EventSelector {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut names: Vec<&str> = EventType::ALL.map(EventType::as_str).to_vec();
        names.push("*");
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(names))
            .description(Some(
                "An event type, or `*` for all of them (including types added later).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for EventSelector {}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event types an endpoint takes: all of them (including types added later), or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    All,
    Only(Vec<EventType>),
}

impl Subscription {
    /// From the API's `events` list: names of event types, or `"*"` for all. Repeats are
    /// dropped; an empty list is refused (an endpoint that takes nothing is `active: false`).
    pub fn parse(names: &[String]) -> Result<Self, Invalid> {
        if names.is_empty() {
            return Err(Invalid::new(
                "events",
                "must name at least one event type, or be left out for all of them",
            ));
        }
        if names.len() > 32 {
            return Err(Invalid::new("events", "at most 32 entries"));
        }
        let mut types = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if name == "*" {
                return Ok(Subscription::All);
            }
            let t = EventType::parse(name).map_err(|e| e.within(&format!("events[{i}]")))?;
            types.push(t);
        }
        types.sort();
        types.dedup();
        Ok(Subscription::Only(types))
    }

    pub fn includes(&self, event: EventType) -> bool {
        match self {
            Subscription::All => true,
            Subscription::Only(types) => types.contains(&event),
        }
    }

    /// The names, as the API shows them (`["*"]` for all).
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Subscription::All => vec!["*"],
            Subscription::Only(types) => types.iter().map(|t| t.as_str()).collect(),
        }
    }

    /// As stored: `*`, or the names joined by commas.
    pub fn to_stored(&self) -> String {
        self.names().join(",")
    }

    pub fn from_stored(s: &str) -> Result<Self, Invalid> {
        let names: Vec<String> = s.split(',').map(str::to_string).collect();
        Subscription::parse(&names)
    }
}

/// Where deliveries go: an absolute `http` or `https` URL without credentials or fragment.
/// Loopback and private addresses are allowed on purpose: passwright is self-hosted and the
/// receiver often runs next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |m: &str| Invalid::new("url", m);
        let s = s.trim();
        if s.len() > 2048 {
            return Err(bad("must be at most 2048 characters"));
        }
        let url = reqwest::Url::parse(s).map_err(|e| bad(&format!("is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "must not carry credentials: receivers check the Passwright-Signature header instead",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("must not have a #fragment"));
        }
        Ok(WebhookUrl(url.to_string()))
    }

    /// For values read back from our own database.
    pub fn from_trusted(s: String) -> Self {
        WebhookUrl(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key an endpoint's deliveries are signed with: `whsec_` + 40 base32 characters (200
/// bits). Shown once when made; the HMAC key is the whole string, prefix included.
#[derive(Clone)]
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    pub fn generate(rng: &dyn Random) -> Self {
        WebhookSecret(SecretString::from(format!(
            "whsec_{}",
            random_base32(rng, 25)
        )))
    }

    /// For values read back from our own database.
    pub fn from_trusted(s: String) -> Self {
        WebhookSecret(SecretString::from(s))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub program_id: ProgramId,
    pub url: WebhookUrl,
    pub secret: WebhookSecret,
    pub events: Subscription,
    pub active: bool,
    pub description: Option<String>,
    /// Why passwright switched the endpoint off (it answered 410 Gone).
    pub disabled_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()).unwrap(), t);
        }
        assert!(EventType::parse("points.change").is_err());
    }

    #[test]
    fn subscriptions_parse_store_and_match() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = Subscription::parse(&names(&[
            "points.changed",
            "card.installed",
            "points.changed",
        ]))
        .unwrap();
        assert_eq!(s.names(), vec!["points.changed", "card.installed"]);
        assert!(s.includes(EventType::PointsChanged));
        assert!(!s.includes(EventType::ScanAccepted));
        assert_eq!(Subscription::from_stored(&s.to_stored()).unwrap(), s);
        let all = Subscription::parse(&names(&["*"])).unwrap();
        assert_eq!(all, Subscription::All);
        assert_eq!(Subscription::from_stored("*").unwrap(), Subscription::All);
        assert!(all.includes(EventType::CardRemoved));
        let err = Subscription::parse(&names(&["points.changed", "nope"])).unwrap_err();
        assert_eq!(err.field, "events[1]");
        assert_eq!(Subscription::parse(&[]).unwrap_err().field, "events");
    }

    #[test]
    fn urls_are_absolute_http_without_credentials() {
        assert_eq!(
            WebhookUrl::parse(" https://hooks.example.com/in?x=1 ")
                .unwrap()
                .as_str(),
            "https://hooks.example.com/in?x=1"
        );
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook").is_ok());
        for bad in [
            "ftp://example.com/",
            "/relative",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "not a url",
        ] {
            assert_eq!(WebhookUrl::parse(bad).unwrap_err().field, "url", "{bad}");
        }
        assert!(WebhookUrl::parse(&format!("https://e.com/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn secrets_have_the_prefix_and_hide() {
        let s = WebhookSecret::generate(&OsRandom);
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.expose().len(), 6 + 40);
        assert!(!format!("{s:?}").contains(s.expose()));
        assert_ne!(WebhookSecret::generate(&OsRandom).expose(), s.expose());
    }
}
