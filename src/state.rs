//! What every request handler can reach: storage, the card issuer, the clock and
//! randomness. Built once in `startup`, passed explicitly. The HTTP areas' limits are not
//! here: each area is handed its own (`http::limits`).

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::cards::google::GoogleCards;
use crate::cards::Cards;
use crate::clock::{SharedClock, SharedRandom};
use crate::keys::KeyCache;
use crate::messaging::unsubscribe::UnsubscribeKey;
use crate::outbox::Outbox;
use crate::storage::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cards: Arc<Cards>,
    pub api_keys: Arc<KeyCache>,
    /// Console users and their sessions.
    pub accounts: Arc<Accounts>,
    pub clock: SharedClock,
    pub random: SharedRandom,
    /// Delivers what changes must be told (pushes, Google, webhooks, email, SMS).
    pub outbox: Arc<Outbox>,
    /// Google Wallet, when configured.
    pub google: Option<Arc<GoogleCards>>,
    /// Checks the tokens of `/u/{token}` unsubscribe links.
    pub unsubscribe: UnsubscribeKey,
    /// The process's main runtime, whose threads are not the HTTP workers': requests' writes
    /// run there to their end (`http::to_the_end`).
    pub work: tokio::runtime::Handle,
}
