//! What every request handler can reach: storage, the card issuer, the clock, randomness
//! and the limits from settings. Built once in `startup`, passed explicitly.

use std::sync::Arc;

use crate::cards::google::GoogleCards;
use crate::cards::Cards;
use crate::clock::{SharedClock, SharedRandom};
use crate::http::landing::LandingLimits;
use crate::http::passkit::PassKitLimits;
use crate::keys::KeyCache;
use crate::messaging::unsubscribe::UnsubscribeKey;
use crate::outbox::Outbox;
use crate::storage::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cards: Arc<Cards>,
    pub api_keys: Arc<KeyCache>,
    pub clock: SharedClock,
    pub random: SharedRandom,
    pub limits: Limits,
    /// Delivers what changes must be told (pushes, Google, webhooks, email, SMS).
    pub outbox: Arc<Outbox>,
    pub passkit: Arc<PassKitLimits>,
    /// Google Wallet, when configured.
    pub google: Option<Arc<GoogleCards>>,
    /// Limits of the public landing pages.
    pub landing: Arc<LandingLimits>,
    /// Checks the tokens of `/u/{token}` unsubscribe links.
    pub unsubscribe: UnsubscribeKey,
    /// The process's main runtime, whose threads are not the HTTP workers': requests' writes
    /// run there to their end (`http::to_the_end`).
    pub work: tokio::runtime::Handle,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_json_bytes: usize,
    pub max_image_bytes: usize,
}
