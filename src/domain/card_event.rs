//! Cards installed in and removed from wallets, recorded for reports and sent as the
//! `card.installed` / `card.removed` webhook events.
//!
//! Apple: a registration of the pass on a device that did not have it registered is
//! `installed` (one per device), its removal `removed` (the device unregistering, or APNs
//! answering 410 for the device's push token). Google: a save callback is `installed`, a
//! delete callback `removed`.

use super::webhook::EventType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wallet {
    Apple,
    Google,
}

impl Wallet {
    pub fn as_str(self) -> &'static str {
        match self {
            Wallet::Apple => "apple",
            Wallet::Google => "google",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardChange {
    Installed,
    Removed,
}

impl CardChange {
    pub fn as_str(self) -> &'static str {
        match self {
            CardChange::Installed => "installed",
            CardChange::Removed => "removed",
        }
    }

    /// The webhook event this change is sent as.
    pub fn event(self) -> EventType {
        match self {
            CardChange::Installed => EventType::CardInstalled,
            CardChange::Removed => EventType::CardRemoved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_table_and_the_events() {
        assert_eq!(Wallet::Google.as_str(), "google");
        assert_eq!(CardChange::Removed.as_str(), "removed");
        assert_eq!(CardChange::Installed.event().as_str(), "card.installed");
    }
}
