//! Issuing and updating Google Wallet cards: save links for a member, and bringing Google's
//! copy of a member or program up to date (from the outbox), with notifications for tier
//! changes and newly affordable rewards within Google's limit per card and day.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use time::OffsetDateTime;

use super::Cards;
use crate::clock::{to_micros, SharedClock};
use crate::delivery::google::{GoogleApiConfig, GoogleClient, GoogleOutcome, ServiceAccount};
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::settings::GoogleSettings;
use crate::storage::{MemberKey, PushedState, Store, StoreError};
use crate::wallet::google::callback::{CallbackVerifier, RootKeys};
use crate::wallet::google::class::loyalty_class;
use crate::wallet::google::ids::{GoogleContext, IssuerId};
use crate::wallet::google::object::{loyalty_object, message};
use crate::wallet::google::resources::{LoyaltyClass, LoyaltyObject};
use crate::wallet::google::save_link::{SaveLinkError, SaveLinkSigner};

/// How a save link refers to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveLinkMode {
    /// The object was inserted through the API; the link carries only its id.
    Skinny,
    /// The whole class and object ride in the link (no API configured).
    Full,
}

#[derive(Debug, Clone)]
pub struct SaveLink {
    pub url: String,
    pub mode: SaveLinkMode,
}

#[derive(Debug, thiserror::Error)]
pub enum GoogleCardError {
    #[error(transparent)]
    Link(#[from] SaveLinkError),
    /// Google's API did not take the card; the link would not work yet.
    #[error("Google Wallet did not accept the card: {0}")]
    Api(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The member's card was cancelled: it gets no save link.
    #[error("the card was cancelled")]
    Voided,
}

/// Notifications since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct GoogleCounters {
    /// Messages sent with TEXT_AND_NOTIFY.
    pub notified: AtomicU64,
    /// Messages that should have notified but went silently: the daily limit was reached.
    pub over_quota: AtomicU64,
}

pub struct GoogleCards {
    ctx: GoogleContext,
    links: SaveLinkSigner,
    api: Option<GoogleClient>,
    verifier: Option<CallbackVerifier>,
    notifications_per_day: u32,
    /// Programs whose class this instance has sent at their current design version.
    classes_sent: Mutex<HashSet<(ProgramId, i64)>>,
    pub counters: GoogleCounters,
}

impl GoogleCards {
    /// `None` when Google Wallet is not configured (no issuer id).
    pub fn from_settings(
        s: &GoogleSettings,
        public_base_url: &str,
        clock: SharedClock,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<GoogleCards>> {
        if !s.enabled() {
            return Ok(None);
        }
        let issuer = IssuerId::parse(&s.issuer_id).context("google.issuer_id")?;
        let file = s
            .service_account_file
            .as_ref()
            .context("google.service_account_file is required with google.issuer_id: save links are signed with its key")?;
        let account = Arc::new(
            ServiceAccount::from_file(file)
                .with_context(|| format!("google.service_account_file {}", file.display()))?,
        );
        let links = SaveLinkSigner::new(
            account.private_key().clone(),
            account.client_email(),
            Some(account.private_key_id()),
            s.origins(),
        )
        .context("google.service_account_file: the key cannot sign save links")?;
        let api = if s.api_url.is_empty() {
            None
        } else {
            let config = GoogleApiConfig {
                api_base_url: s.api_url.clone(),
                token_url: (!s.token_url.is_empty()).then(|| s.token_url.clone()),
                timeout: std::time::Duration::from_millis(s.timeout_ms),
            };
            Some(GoogleClient::new(config, account, clock).context("google.api_url")?)
        };
        let verifier = match &s.callback_keys_file {
            Some(path) => {
                let json = std::fs::read(path).with_context(|| {
                    format!("google.callback_keys_file: cannot read {}", path.display())
                })?;
                Some(CallbackVerifier {
                    roots: RootKeys::from_json(&json, now)
                        .with_context(|| format!("google.callback_keys_file {}", path.display()))?,
                    sender_ids: s.sender_ids(),
                    recipient_id: issuer.as_str().to_string(),
                })
            }
            None => None,
        };
        let callback_url = verifier
            .as_ref()
            .map(|_| format!("{public_base_url}/google/callbacks"));
        Ok(Some(GoogleCards {
            ctx: GoogleContext::new(issuer, public_base_url, callback_url),
            links,
            api,
            verifier,
            notifications_per_day: s.notifications_per_day,
            classes_sent: Mutex::default(),
            counters: GoogleCounters::default(),
        }))
    }

    pub fn verifier(&self) -> Option<&CallbackVerifier> {
        self.verifier.as_ref()
    }

    pub fn api(&self) -> Option<&GoogleClient> {
        self.api.as_ref()
    }

    pub fn loyalty_class(&self, program: &Program) -> LoyaltyClass {
        loyalty_class(program, &self.ctx)
    }

    pub fn loyalty_object(
        &self,
        cards: &Cards,
        program: &Program,
        member: &Member,
    ) -> LoyaltyObject {
        loyalty_object(program, member, &cards.card_token(member), &self.ctx)
    }

    /// Brings Google's class up to date with the program.
    pub async fn update_class(&self, store: &Store, program: &ProgramId) -> GoogleOutcome {
        let Some(api) = &self.api else {
            return GoogleOutcome::Done;
        };
        let program = match store.program(program).await {
            Ok(p) => p,
            Err(e) => return store_failure(e),
        };
        match self
            .ensure_class(api, &program, &self.loyalty_class(&program))
            .await
        {
            Ok(()) => GoogleOutcome::Done,
            Err(GoogleCardError::Api(reason)) => GoogleOutcome::Retry {
                status: None,
                reason,
                after: None,
            },
            Err(e) => store_failure_text(e.to_string()),
        }
    }

    /// Brings Google's object up to date with the member, then adds the messages the change
    /// calls for: notifying while the daily limit allows, silently after that.
    pub async fn update_object(
        &self,
        store: &Store,
        cards: &Cards,
        member: &MemberId,
        now: OffsetDateTime,
    ) -> GoogleOutcome {
        let Some(api) = &self.api else {
            return GoogleOutcome::Done;
        };
        let record = match store.google_object(member).await {
            Ok(Some(r)) => r,
            Ok(None) => return GoogleOutcome::Done,
            Err(e) => return store_failure(e),
        };
        let (member, program) = match store.member_and_program(MemberKey::Id(member)).await {
            Ok(found) => found,
            Err(e) => return store_failure(e),
        };
        let object = self.loyalty_object(cards, &program, &member);
        let mut outcome = api.upsert_object(&object).await;
        if class_missing(&outcome) {
            // Google lost the class (deleted in its console, say): write it again, then the
            // object.
            tracing::warn!(program = %program.id, "Google has no class for this program: writing it again");
            self.forget_class(&program.id);
            match api.upsert_class(&self.loyalty_class(&program)).await {
                GoogleOutcome::Done => outcome = api.upsert_object(&object).await,
                other => return other,
            }
        }
        if outcome != GoogleOutcome::Done {
            return outcome;
        }
        let rewards = match store.rewards(&program.id).await {
            Ok(r) => r,
            Err(e) => return store_failure(e),
        };
        let before = PushedState {
            version: record.pushed_version.unwrap_or(0),
            balance: record.pushed_balance.unwrap_or(member.balance),
            tier: record.pushed_tier.clone(),
            expiring_at: record.pushed_expiring_at,
        };
        let known = record.pushed_version.is_some();
        let mut messages = Vec::new();
        if known
            && member.tier.is_some()
            && promoted(&program, before.tier.as_deref(), member.tier.as_deref())
        {
            let tier = member.tier.clone().unwrap_or_default();
            messages.push((
                format!("tier-{}", member.version),
                format!("Welcome to {tier}"),
                format!("Your {} card is now {tier}.", program.name),
            ));
        }
        if known {
            for r in rewards.iter().filter(|r| r.active) {
                let cost = r.cost.value();
                if cost <= member.balance && cost > before.balance {
                    messages.push((
                        format!("reward-{}-{}", r.id, member.version),
                        "Reward unlocked".to_string(),
                        format!("{} is yours for {cost} points.", r.name),
                    ));
                }
            }
            if let Some(e) = member.expiring {
                if before.expiring_at != Some(to_micros(e.at)) {
                    let day = e.at.date();
                    messages.push((
                        format!("expiring-{day}"),
                        "Points expiring".to_string(),
                        format!("{} of your points expire on {day}.", e.points),
                    ));
                }
            }
            if program.design.notify_balance_changes
                && messages.is_empty()
                && member.balance != before.balance
            {
                messages.push((
                    format!("balance-{}", member.version),
                    "Points updated".to_string(),
                    format!("You now have {} points.", member.balance),
                ));
            }
        }
        for (id, header, body) in messages {
            let outcome = self
                .send_message(store, api, &record.object_id, &id, &header, &body, now)
                .await;
            if outcome != GoogleOutcome::Done {
                return outcome;
            }
        }
        if let Err(e) = store
            .record_google_push(&member.id, &pushed(&member), now)
            .await
        {
            return store_failure(e);
        }
        GoogleOutcome::Done
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_message(
        &self,
        store: &Store,
        api: &GoogleClient,
        object_id: &str,
        id: &str,
        header: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> GoogleOutcome {
        let sent = match store
            .google_notifications_since(object_id, now - time::Duration::hours(24))
            .await
        {
            Ok(n) => n,
            Err(e) => return store_failure(e),
        };
        let mut notify = sent < i64::from(self.notifications_per_day);
        loop {
            match api
                .add_message(object_id, &message(id, header, body, notify))
                .await
            {
                GoogleOutcome::Done if notify => {
                    self.counters.notified.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = store.add_google_notification(object_id, now).await {
                        return store_failure(e);
                    }
                    return GoogleOutcome::Done;
                }
                // A retried job sends its messages again; Google already has this one.
                GoogleOutcome::Done
                | GoogleOutcome::Failed {
                    status: Some(409), ..
                } => {
                    if !notify {
                        self.counters.over_quota.fetch_add(1, Ordering::Relaxed);
                    }
                    return GoogleOutcome::Done;
                }
                GoogleOutcome::QuotaExceeded if notify => {
                    // Google counted differently (another sender, or our record was lost):
                    // send it silently rather than not at all.
                    notify = false;
                }
                GoogleOutcome::QuotaExceeded => {
                    return GoogleOutcome::Retry {
                        status: None,
                        reason: "Google refused a silent message for its quota".into(),
                        after: None,
                    }
                }
                other => return other,
            }
        }
    }
}

/// True when `now` is a higher tier than `was` (a downgrade is shown, not announced).
/// Whether writing an object failed because Google has no such class: Google answers 404
/// when an inserted object names a class it does not have.
fn class_missing(outcome: &GoogleOutcome) -> bool {
    matches!(
        outcome,
        GoogleOutcome::Failed {
            status: Some(404),
            ..
        }
    )
}

fn promoted(program: &Program, was: Option<&str>, now: Option<&str>) -> bool {
    let threshold = |name: Option<&str>| {
        name.and_then(|n| program.tiers.as_slice().iter().find(|t| t.name == n))
            .map(|t| t.threshold)
    };
    match (threshold(was), threshold(now)) {
        (_, None) => false,
        (None, Some(_)) => was != now,
        (Some(a), Some(b)) => b > a,
    }
}

fn pushed(member: &Member) -> PushedState {
    PushedState {
        version: member.version,
        balance: member.balance,
        tier: member.tier.clone(),
        expiring_at: member.expiring.map(|e| to_micros(e.at)),
    }
}

fn store_failure(e: StoreError) -> GoogleOutcome {
    store_failure_text(format!("{e:#}"))
}

fn store_failure_text(reason: String) -> GoogleOutcome {
    GoogleOutcome::Retry {
        status: None,
        reason,
        after: None,
    }
}

#[cfg(test)]
mod golden_tests;
mod save_links;
