//! Points: earn from a purchase through the program's earn rules, adjust directly, and read
//! the ledger. Changes require an `Idempotency-Key`: a retried request never applies twice.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{load, resource, views, MANAGE, READ};
use crate::domain::api_key::Role;
use crate::domain::ledger::{fingerprint, EntryKind, IdempotencyKey, PointsChange};
use crate::domain::points::{Amount, Points};
use crate::domain::program::product_type;
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::error_code::ErrorCode;
use crate::http::to_the_end;
use crate::state::AppState;
use crate::storage::PointsOutcome;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/members/{id}/earn").route(web::post().to(earn)))
        .service(resource("/members/{id}/adjust").route(web::post().to(adjust)))
        .service(resource("/members/{id}/ledger").route(web::get().to(ledger)));
}

pub(super) fn idempotency_key(req: &HttpRequest) -> Result<IdempotencyKey, ApiError> {
    let value = req.headers().get("Idempotency-Key").ok_or_else(|| {
        ApiError::new(
            ErrorCode::IdempotencyKeyRequired,
            "send an Idempotency-Key header (any unique string per change, reused on retries)",
        )
    })?;
    let value = value
        .to_str()
        .map_err(|_| Invalid::new("Idempotency-Key", "must be visible ASCII"))?;
    Ok(IdempotencyKey::parse(value)?)
}

/// Checked, sorted, without repeats.
pub(super) fn product_types(given: &[String]) -> Result<Vec<String>, ApiError> {
    if given.len() > 50 {
        return Err(Invalid::new("product_types", "at most 50 product types").into());
    }
    let mut products = given
        .iter()
        .map(|p| product_type(p).map_err(|e| e.within("product_types")))
        .collect::<Result<Vec<_>, _>>()?;
    products.sort();
    products.dedup();
    Ok(products)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EarnBody {
    /// Purchase amount in the program's currency, e.g. "12.50".
    amount: Amount,
    #[serde(default)]
    product_types: Vec<String>,
    reason: Option<String>,
}

async fn earn(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Json<EarnBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin, Role::Marketer, Role::Staff])?;
    let key = idempotency_key(&req)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let body = body.into_inner();
    let products = product_types(&body.product_types)?;
    let points = program
        .earn_rules
        .points_for_purchase(body.amount, &products)
        .map_err(|e| Invalid::new("amount", e.message))?;
    let reason = match &body.reason {
        Some(r) => text("reason", r, 200)?,
        None => format!("Purchase of {}", body.amount.to_decimal_string()),
    };
    let amount = body.amount.minor_units().to_string();
    let change = PointsChange {
        kind: EntryKind::Earn,
        amount: points,
        fingerprint: fingerprint(&[
            "earn",
            member.id.as_str(),
            &amount,
            &products.join(","),
            &reason,
        ]),
        reason,
        actor: caller.actor(),
        idempotency_key: Some(key),
        allow_negative: false,
    };
    apply(&state, &program, &member, change).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustBody {
    /// Signed number of points to add (negative to remove).
    points: i64,
    reason: String,
    /// Let the balance go below zero (a correction after points were already spent).
    #[serde(default)]
    allow_negative: bool,
}

async fn adjust(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Json<AdjustBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let key = idempotency_key(&req)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let body = body.into_inner();
    let points = Points::new(body.points)?;
    if points.value() == 0 {
        return Err(Invalid::new("points", "must not be zero").into());
    }
    let reason = text("reason", &body.reason, 200)?;
    let change = PointsChange {
        kind: EntryKind::Adjust,
        amount: points,
        fingerprint: fingerprint(&[
            "adjust",
            member.id.as_str(),
            &points.value().to_string(),
            &reason,
            if body.allow_negative { "neg" } else { "" },
        ]),
        reason,
        actor: caller.actor(),
        idempotency_key: Some(key),
        allow_negative: body.allow_negative,
    };
    apply(&state, &program, &member, change).await
}

async fn apply(
    state: &AppState,
    program: &crate::domain::program::Program,
    member: &crate::domain::member::Member,
    change: PointsChange,
) -> Result<HttpResponse, ApiError> {
    let (store, now) = (state.store.clone(), state.clock.now());
    let (id, tiers, of, to_apply) = (
        program.id.clone(),
        program.tiers.clone(),
        member.clone(),
        change.clone(),
    );
    let outcome: PointsOutcome = to_the_end(&state.work, async move {
        store.apply_points(&id, &of, &tiers, &to_apply, now).await
    })
    .await?
    .map_err(|e| store_error(e, "member"))?;
    if !outcome.replayed {
        tracing::info!(
            member = %member.id,
            kind = change.kind.as_str(),
            amount = outcome.entry.amount,
            tier_changed = outcome.tier_changed,
            "points changed"
        );
    }
    let status = if outcome.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status)
        .insert_header((
            "Idempotent-Replayed",
            if outcome.replayed { "true" } else { "false" },
        ))
        .json(json!({
            "entry": views::entry(&outcome.entry),
            "member": views::member(&outcome.member, program, &state.cards),
            "replayed": outcome.replayed,
            "tier_changed": outcome.tier_changed,
        })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

async fn ledger(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (_, member) = load::member(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let page = state.store.ledger(&member.id, query.before, limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "entries": page.entries.iter().map(views::entry).collect::<Vec<_>>(),
        "next_before": page.next_before,
        "balance": member.balance,
    })))
}
