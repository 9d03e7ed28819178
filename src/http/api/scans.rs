//! The counter: staff submit what they read from a card, with an action. Every request is
//! one scan record; an accepted one answers with what staff need to serve the customer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::points::{idempotency_key, product_types};
use super::{resource, views, MANAGE, READ};
use crate::domain::ids::{LocationId, ProgramId, RewardId};
use crate::domain::points::Amount;
use crate::domain::scan::{RejectReason, ScanAction};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::error_code::ErrorCode;
use crate::http::to_the_end;
use crate::redemption::{Accepted, Action, Desk, ScanError, ScanReply, ScanRequest};
use crate::state::AppState;
use crate::storage::CounterView;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/scans")
            .route(web::post().to(scan))
            .route(web::get().to(list)),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    code: String,
    location_id: Option<String>,
    action: Option<String>,
    amount: Option<Amount>,
    #[serde(default)]
    product_types: Vec<String>,
    reward_id: Option<String>,
}

impl ScanBody {
    fn into_request(self, req: &HttpRequest) -> Result<ScanRequest, ApiError> {
        if self.code.len() > 512 {
            return Err(Invalid::new("code", "is longer than any card code").into());
        }
        let kind = self
            .action
            .as_deref()
            .map_or(Ok(ScanAction::Lookup), ScanAction::parse)?;
        let unexpected =
            |field: &str| Invalid::new(field, format!("does not apply to a {}", kind.as_str()));
        if kind != ScanAction::Purchase {
            if self.amount.is_some() {
                return Err(unexpected("amount").into());
            }
            if !self.product_types.is_empty() {
                return Err(unexpected("product_types").into());
            }
        }
        if kind != ScanAction::Redeem && self.reward_id.is_some() {
            return Err(unexpected("reward_id").into());
        }
        let action = match kind {
            ScanAction::Lookup => Action::Lookup,
            ScanAction::Visit => Action::Visit,
            ScanAction::Purchase => Action::Purchase {
                amount: self
                    .amount
                    .ok_or_else(|| Invalid::new("amount", "a purchase needs its amount"))?,
                product_types: product_types(&self.product_types)?,
            },
            ScanAction::Redeem => {
                let id = self
                    .reward_id
                    .ok_or_else(|| Invalid::new("reward_id", "say which reward to redeem"))?;
                Action::Redeem {
                    reward: RewardId::parse(&id).map_err(|e| e.within("reward_id"))?,
                }
            }
        };
        let location = self
            .location_id
            .as_deref()
            .map(LocationId::parse)
            .transpose()
            .map_err(|e| Invalid::new("location_id", e.message))?;
        let idempotency_key = if kind.changes_anything() {
            Some(idempotency_key(req)?)
        } else {
            None
        };
        Ok(ScanRequest {
            code: self.code,
            location,
            action,
            idempotency_key,
        })
    }
}

async fn scan(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ScanBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let request = body.into_inner().into_request(&req)?;
    let working = state.clone();
    let reply = to_the_end(&state.work, async move {
        let desk = Desk {
            store: &working.store,
            keys: working.cards.keys(),
            staff: &caller.key,
            now: working.clock.now(),
        };
        desk.scan(&request).await
    })
    .await?
    .map_err(|e| match e {
        ScanError::Invalid(i) => i.into(),
        ScanError::Store(s) => store_error(s, "member"),
    })?;
    match reply {
        ScanReply::Accepted(accepted) => accepted_response(&state, accepted).await,
        ScanReply::Rejected { scan, reason } => Ok(rejected_response(&scan, reason)),
    }
}

async fn accepted_response(state: &AppState, a: Accepted) -> Result<HttpResponse, ApiError> {
    let CounterView {
        rewards,
        redeemed,
        recent,
    } = state
        .store
        .counter_view(&a.program.id, &a.member.id, 5)
        .await?;
    let status = if a.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status)
        .insert_header((
            "Idempotent-Replayed",
            if a.replayed { "true" } else { "false" },
        ))
        .json(json!({
            "scan": views::scan(&a.scan),
            "member": views::member_summary(&a.member, &a.program),
            "program": {"id": a.program.id, "name": a.program.name},
            "rewards": rewards
                .iter()
                .filter(|r| r.active)
                .map(|r| {
                    let used = !r.repeatable && redeemed.contains(&r.id);
                    json!({
                        "id": r.id,
                        "name": r.name,
                        "cost": r.cost,
                        "repeatable": r.repeatable,
                        "redeemed": used,
                        "affordable": !used && a.member.balance >= r.cost.value(),
                    })
                })
                .collect::<Vec<_>>(),
            "recent": recent.iter().map(|e| json!({
                "kind": e.kind,
                "amount": e.amount,
                "reason": e.reason,
                "created_at": crate::clock::rfc3339(e.created_at),
            })).collect::<Vec<_>>(),
            "entry": a.entry.as_ref().map(views::EntryView::new),
            "redemption": a.reward.as_ref().map(|r| json!({
                "reward_id": r.id, "name": r.name, "cost": r.cost,
            })),
            "replayed": a.replayed,
        })))
}

fn rejected_response(scan: &crate::domain::scan::Scan, reason: RejectReason) -> HttpResponse {
    let code = match reason {
        RejectReason::Malformed
        | RejectReason::Forged
        | RejectReason::UnknownCard
        | RejectReason::Voided
        | RejectReason::Superseded
        | RejectReason::OtherProgram => ErrorCode::ScanRejected,
        RejectReason::UnknownReward => ErrorCode::NotFound,
        RejectReason::InsufficientPoints => ErrorCode::InsufficientPoints,
        RejectReason::RewardAlreadyRedeemed => ErrorCode::RewardAlreadyRedeemed,
        RejectReason::RewardInactive => ErrorCode::RewardInactive,
    };
    HttpResponse::build(code.status()).json(json!({
        "error": {"code": code, "message": reason.message(), "reason": reason},
        "scan": views::scan(scan),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    program_id: Option<String>,
    limit: Option<u32>,
    before: Option<i64>,
}

/// Recent scans, newest first, for marketers and operators.
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = match (&query.program_id, &caller.key.program_id) {
        (Some(p), _) => {
            let id = ProgramId::parse(p).map_err(|_| ApiError::not_found("program"))?;
            caller.check_program(&id)?;
            Some(id)
        }
        (None, scope) => scope.clone(),
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let scans = state
        .store
        .scans(program.as_ref(), None, query.before, limit)
        .await?;
    let next_before = (scans.len() == limit as usize)
        .then(|| scans.last().map(|s| s.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({
        "scans": scans.iter().map(views::scan).collect::<Vec<_>>(),
        "next_before": next_before,
    })))
}
