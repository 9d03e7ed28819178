//! Points: earn from a purchase through the program's earn rules, adjust directly, and read
//! the ledger. Changes require an `Idempotency-Key`: a retried request never applies twice.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::Ref;
use utoipa::{OpenApi, ToSchema};

use super::views::{EntryView, MemberView};
use super::{load, MANAGE, READ};
use crate::domain::api_key::Role;
use crate::domain::ids::MemberId;
use crate::domain::ledger::{fingerprint, EntryKind, IdempotencyKey, PointsChange};
use crate::domain::points::{Amount, Points};
use crate::domain::program::{product_type, ProductType};
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{KeyRefusals, PayloadTooLarge, UnsupportedMediaType};
use crate::http::routes::Routes;
use crate::http::to_the_end;
use crate::state::AppState;
use crate::storage::PointsOutcome;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(earn, adjust, ledger))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_earn, earn)
        .add(__path_adjust, adjust)
        .add(__path_ledger, ledger);
}

/// What a points change did.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct PointsResult {
    entry: EntryView,
    member: MemberView,
    /// True when this answers a repeat of an earlier request with the same Idempotency-Key;
    /// nothing new was applied.
    replayed: bool,
    /// Always false on a replay.
    tier_changed: bool,
}

/// A page of a member's ledger.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct LedgerPage {
    /// The member's current balance.
    balance: i64,
    /// Newest first.
    entries: Vec<EntryView>,
    /// Pass as `before` for older entries; `null` on the last page.
    #[schema(required = true)]
    next_before: Option<i64>,
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EarnInput)]
struct EarnBody {
    amount: Amount,
    /// The purchase's product types; the highest multiplier among them applies.
    #[serde(default)]
    #[schema(schema_with = product_types_schema)]
    product_types: Vec<String>,
    /// Defaults to "Purchase of <amount>".
    #[schema(min_length = 1, max_length = 200)]
    reason: Option<String>,
}

/// At most 50 product types.
fn product_types_schema() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(Ref::from_schema_name(ProductType::name()))
        .max_items(Some(50))
        .default(Some(serde_json::json!([])))
        .description(Some(
            "The purchase's product types; the highest multiplier among them applies.",
        ))
        .build()
}

/// Earn points for a purchase
///
/// Turns a purchase amount into points through the program's earn rules and adds them. Requires
/// an `Idempotency-Key`.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/earn",
    operation_id = "earnPoints",
    tag = "points",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
        ("Idempotency-Key" = IdempotencyKey, Header, description = "Unique per change within the program; send the same value when retrying. 1 to 200 visible ASCII characters (otherwise 422 `validation_failed` with field `Idempotency-Key`)."),
    ),
    request_body = EarnBody,
    responses(
        (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key: the first result, `replayed: true`, header `Idempotent-Replayed: true`; nothing was applied.", body = PointsResult, headers(("Idempotent-Replayed" = String, description = "`true` when the answer repeats an earlier request with the same Idempotency-Key, `false` otherwise."))),
        (status = 201, description = "The change was applied.", body = PointsResult, headers(("Idempotent-Replayed" = String, description = "`true` when the answer repeats an earlier request with the same Idempotency-Key, `false` otherwise."))),
        (status = 400, description = "`idempotency_key_required`: no Idempotency-Key header; `malformed_json`: the body is not valid JSON; `bad_body`: the body could not be read.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`idempotency_key_reused`: the key was used for a different request; `member_voided`: the card has been voided; `insufficient_points`: the balance is negative and would stay below zero.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_body`: wrong shape (e.g. an amount with 3 decimals or negative); `validation_failed`: a bad product type, reason or Idempotency-Key, or a purchase earning more than 1000000000 points.", body = ErrorBody),
        KeyRefusals,
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdjustInput)]
struct AdjustBody {
    /// Signed points to add (negative to remove); not zero.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    points: i64,
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
    /// Let the balance go below zero (a correction after points were already spent).
    #[serde(default)]
    allow_negative: bool,
}

/// Adjust points
///
/// Adds or removes points directly (a correction or goodwill). The balance never goes below
/// zero unless `allow_negative` is true. Requires an `Idempotency-Key`.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/adjust",
    operation_id = "adjustPoints",
    tag = "points",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
        ("Idempotency-Key" = IdempotencyKey, Header, description = "Unique per change within the program; send the same value when retrying. 1 to 200 visible ASCII characters (otherwise 422 `validation_failed` with field `Idempotency-Key`)."),
    ),
    request_body = AdjustBody,
    responses(
        (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key: the first result, `replayed: true`, header `Idempotent-Replayed: true`; nothing was applied.", body = PointsResult, headers(("Idempotent-Replayed" = String, description = "`true` when the answer repeats an earlier request with the same Idempotency-Key, `false` otherwise."))),
        (status = 201, description = "The change was applied.", body = PointsResult, headers(("Idempotent-Replayed" = String, description = "`true` when the answer repeats an earlier request with the same Idempotency-Key, `false` otherwise."))),
        (status = 400, description = "`idempotency_key_required`: no Idempotency-Key header; `malformed_json`: the body is not valid JSON; `bad_body`: the body could not be read.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`idempotency_key_reused`: the key was used for a different request; `member_voided`: the card has been voided; `insufficient_points`: the balance would go below zero.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_body`: wrong shape; `validation_failed`: `points` zero or out of range, an empty `reason`, or a bad Idempotency-Key.", body = ErrorBody),
        KeyRefusals,
    )
)]
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
        .json(PointsResult {
            entry: EntryView::new(&outcome.entry),
            member: MemberView::new(&outcome.member, program, &state.cards),
            replayed: outcome.replayed,
            tier_changed: outcome.tier_changed,
        }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

/// List ledger entries
///
/// The member's points ledger, newest first, a page at a time; pass `next_before` back as
/// `before`. Unknown query parameters answer 422 `invalid_query`.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/ledger",
    operation_id = "listLedgerEntries",
    tag = "points",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 500 (default 50). A non-number answers 422 `invalid_query`, a number out of range 422 `validation_failed`.", minimum = 1, maximum = 500),
        ("before" = Option<i64>, Query, description = "Only entries with an id below this (`next_before` from the previous page)."),
    ),
    responses(
        (status = 200, description = "A page of entries.", body = LedgerPage),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: a parameter of the wrong type, or an unknown parameter; `validation_failed`: `limit` out of range.", body = ErrorBody),
        KeyRefusals,
    )
)]
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
    Ok(HttpResponse::Ok().json(LedgerPage {
        balance: member.balance,
        entries: page.entries.iter().map(EntryView::new).collect(),
        next_before: page.next_before,
    }))
}
