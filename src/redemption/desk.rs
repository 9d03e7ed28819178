//! The scan desk: what happens when staff submit the text read from a card. The code's MAC is
//! checked before anything is looked up, so a forged or altered code costs no card lookup;
//! then the card, its generation and status; then the action. Every outcome, accepted or
//! rejected, is recorded as a scan.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cards::tokens::{TokenError, TokenKeys};
use crate::domain::api_key::ApiKey;
use crate::domain::ids::{LocationId, RewardId};
use crate::domain::ledger::{fingerprint, EntryKind, IdempotencyKey, LedgerEntry, PointsChange};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::points::{Amount, Points};
use crate::domain::program::Program;
use crate::domain::reward::Reward;
use crate::domain::scan::{RejectReason, Scan, ScanAction};
use crate::domain::Invalid;
use crate::storage::{MemberKey, NewScan, ScanOutcome, Store, StoreError};

/// What staff asked for after reading a card.
#[derive(Debug, Clone)]
pub enum Action {
    Lookup,
    Visit,
    Purchase {
        amount: Amount,
        /// Checked, sorted, without repeats.
        product_types: Vec<String>,
    },
    Redeem {
        reward: RewardId,
    },
}

impl Action {
    pub fn kind(&self) -> ScanAction {
        match self {
            Action::Lookup => ScanAction::Lookup,
            Action::Visit => ScanAction::Visit,
            Action::Purchase { .. } => ScanAction::Purchase,
            Action::Redeem { .. } => ScanAction::Redeem,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The text read from the barcode, as read.
    pub code: String,
    pub location: Option<LocationId>,
    pub action: Action,
    /// Required for every action but a lookup.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// An accepted scan and what it did.
#[derive(Debug)]
pub struct Accepted {
    pub scan: Scan,
    pub member: Member,
    pub program: Arc<Program>,
    pub entry: Option<LedgerEntry>,
    pub reward: Option<Reward>,
    pub replayed: bool,
}

// A return value, moved once: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ScanReply {
    Accepted(Accepted),
    Rejected { scan: Scan, reason: RejectReason },
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a card code without touching the database.
pub fn read_code(
    keys: &TokenKeys,
    code: &str,
) -> Result<crate::cards::tokens::TokenClaim, RejectReason> {
    keys.verify_card_token(code).map_err(|e| match e {
        TokenError::Malformed => RejectReason::Malformed,
        TokenError::BadSignature => RejectReason::Forged,
    })
}

pub struct Desk<'a> {
    pub store: &'a Store,
    pub keys: &'a TokenKeys,
    pub staff: &'a ApiKey,
    pub now: OffsetDateTime,
}

impl Desk<'_> {
    pub async fn scan(&self, req: &ScanRequest) -> Result<ScanReply, ScanError> {
        if req.action.kind().changes_anything() && req.idempotency_key.is_none() {
            return Err(Invalid::new(
                "Idempotency-Key",
                "required for visits, purchases and redemptions",
            )
            .into());
        }
        let claim = match read_code(self.keys, &req.code) {
            Ok(claim) => claim,
            Err(reason) => return self.reject(req, None, reason).await,
        };
        let (member, program) = match self
            .store
            .member_and_program(MemberKey::Serial(&claim.serial))
            .await
        {
            Ok(found) => found,
            Err(StoreError::NotFound) => {
                return self.reject(req, None, RejectReason::UnknownCard).await
            }
            Err(e) => return Err(e.into()),
        };
        let card = Some((&member, &*program));
        if !self.staff.can_access(&program.id) {
            return self.reject(req, None, RejectReason::OtherProgram).await;
        }
        self.check_location(req, &program).await?;
        if member.status == MemberStatus::Voided {
            return self.reject(req, card, RejectReason::Voided).await;
        }
        if claim.generation != member.card_generation {
            return self.reject(req, card, RejectReason::Superseded).await;
        }
        let (change, reward) = match &req.action {
            Action::Lookup | Action::Visit => (None, None),
            Action::Purchase {
                amount,
                product_types,
            } => (
                Some(self.purchase(req, &member, &program, *amount, product_types)?),
                None,
            ),
            Action::Redeem { reward } => {
                let reward = match self.store.reward(&program.id, reward).await {
                    Ok(r) => r,
                    Err(StoreError::NotFound) => {
                        return self.reject(req, card, RejectReason::UnknownReward).await
                    }
                    Err(e) => return Err(e.into()),
                };
                if !reward.active {
                    return self.reject(req, card, RejectReason::RewardInactive).await;
                }
                (Some(self.redeem(req, &member, &reward)), Some(reward))
            }
        };
        let fingerprint = change.as_ref().map_or_else(
            || fingerprint(&[req.action.kind().as_str(), member.id.as_str()]),
            |c| c.fingerprint.clone(),
        );
        let scan = NewScan {
            program_id: Some(&program.id),
            member: Some(&member),
            staff: self.staff,
            location_id: req.location.as_ref(),
            action: req.action.kind(),
            rejected: None,
            amount_minor: purchase_amount(&req.action),
            reward: reward.as_ref().map(|r| (&r.id, !r.repeatable)),
            idempotency_key: req.idempotency_key.as_ref().map(IdempotencyKey::as_str),
            fingerprint: Some(&fingerprint),
        };
        let outcome = if req.action.kind().changes_anything() {
            self.store
                .apply_scan(
                    &scan,
                    change.as_ref().map(|c| (c, &program.tiers)),
                    self.now,
                )
                .await?
        } else {
            ScanOutcome::Applied {
                scan: self.store.record_scan(&scan, self.now).await?,
                points: None,
            }
        };
        let (scan, entry, member, replayed) = match outcome {
            ScanOutcome::Applied { scan, points } => match points {
                Some(p) => (scan, Some(p.entry), p.member, false),
                None => (scan, None, member, false),
            },
            ScanOutcome::Replayed { scan, entry } => {
                let member = self.store.member(&member.id).await?;
                (scan, entry, member, true)
            }
            ScanOutcome::Refused(reason) => return self.reject(req, card, reason).await,
        };
        Ok(ScanReply::Accepted(Accepted {
            scan,
            member,
            program,
            entry,
            reward,
            replayed,
        }))
    }

    async fn check_location(&self, req: &ScanRequest, program: &Program) -> Result<(), ScanError> {
        let Some(id) = &req.location else {
            return Ok(());
        };
        match self.store.location_program(id).await {
            Ok(p) if p == program.id => Ok(()),
            Ok(_) | Err(StoreError::NotFound) => {
                Err(Invalid::new("location_id", "no such location in this card's program").into())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn purchase(
        &self,
        req: &ScanRequest,
        member: &Member,
        program: &Program,
        amount: Amount,
        products: &[String],
    ) -> Result<PointsChange, ScanError> {
        let points = program
            .earn_rules
            .points_for_purchase(amount, products)
            .map_err(|e| Invalid::new("amount", e.message))?;
        let minor = amount.minor_units().to_string();
        Ok(PointsChange {
            kind: EntryKind::Earn,
            amount: points,
            reason: format!("Purchase of {}", amount.to_decimal_string()),
            actor: self.actor(),
            idempotency_key: req.idempotency_key.clone(),
            fingerprint: fingerprint(&[
                "purchase",
                member.id.as_str(),
                &minor,
                &products.join(","),
            ]),
            allow_negative: false,
        })
    }

    fn redeem(&self, req: &ScanRequest, member: &Member, reward: &Reward) -> PointsChange {
        PointsChange {
            kind: EntryKind::Redeem,
            // A reward's cost is within ±MAX_POINTS, so its negation is too.
            amount: Points::new(-reward.cost.value()).unwrap_or_else(|_| Points::zero()),
            reason: format!("Redeemed {}", reward.name),
            actor: self.actor(),
            idempotency_key: req.idempotency_key.clone(),
            fingerprint: fingerprint(&["redeem", member.id.as_str(), reward.id.as_str()]),
            allow_negative: false,
        }
    }

    fn actor(&self) -> String {
        format!("api_key:{}", self.staff.id)
    }

    /// Records the refusal and answers with it. A refused card is recorded without its
    /// member when the code named none we could trust.
    async fn reject(
        &self,
        req: &ScanRequest,
        card: Option<(&Member, &Program)>,
        reason: RejectReason,
    ) -> Result<ScanReply, ScanError> {
        let reward = match &req.action {
            Action::Redeem { reward }
                if card.is_some() && reason != RejectReason::UnknownReward =>
            {
                Some((reward, false))
            }
            _ => None,
        };
        // Without a trusted card, the location (when it exists and the key may use it) says
        // which program the scan belongs to.
        let located = match (card, &req.location) {
            (None, Some(id)) => match self.store.location(id).await {
                Ok(l) if self.staff.can_access(&l.program_id) => Some(l),
                Ok(_) | Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            _ => None,
        };
        let location = match card {
            Some(_) => req.location.as_ref(),
            None => located.as_ref().map(|l| &l.id),
        };
        let program_id = card
            .map(|(_, p)| &p.id)
            .or(located.as_ref().map(|l| &l.program_id))
            .or(self.staff.program_id.as_ref());
        let scan = NewScan {
            program_id,
            member: card.map(|(m, _)| m),
            staff: self.staff,
            location_id: location,
            action: req.action.kind(),
            rejected: Some(reason),
            amount_minor: purchase_amount(&req.action),
            reward,
            idempotency_key: req.idempotency_key.as_ref().map(IdempotencyKey::as_str),
            fingerprint: None,
        };
        let scan = self.store.record_scan(&scan, self.now).await?;
        tracing::info!(scan = scan.id, reason = reason.as_str(), "scan rejected");
        Ok(ScanReply::Rejected { scan, reason })
    }
}

fn purchase_amount(action: &Action) -> Option<i64> {
    match action {
        Action::Purchase { amount, .. } => Some(amount.minor_units()),
        _ => None,
    }
}
