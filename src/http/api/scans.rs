//! The counter: staff submit what they read from a card, with an action. Every request is
//! one scan record; an accepted one answers with what staff need to serve the customer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::points::{idempotency_key, product_types};
use super::views::{EntryView, MemberSummary, ScanView};
use super::{MANAGE, READ};
use crate::domain::ids::{LocationId, ProgramId, RewardId};
use crate::domain::ledger::{EntryKind, IdempotencyKey};
use crate::domain::points::{Amount, Points};
use crate::domain::scan::{RejectReason, ScanAction};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{KeyRefusals, PayloadTooLarge, UnsupportedMediaType};
use crate::http::routes::Routes;
use crate::http::to_the_end;
use crate::redemption::{Accepted, Action, Desk, ScanError, ScanReply, ScanRequest};
use crate::state::AppState;
use crate::storage::CounterView;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(scan, list))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_scan, scan).add(__path_list, list);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ScanInput)]
struct ScanBody {
    /// The text read from the card's barcode, as read.
    #[schema(max_length = 512)]
    code: String,
    #[schema(value_type = Option<LocationId>)]
    location_id: Option<String>,
    /// `lookup` when absent.
    #[schema(value_type = Option<ScanAction>)]
    action: Option<String>,
    /// Purchase amount (purchase only), e.g. `"12.50"`.
    amount: Option<Amount>,
    /// Purchase only: product types for the earn rules' multipliers.
    #[serde(default)]
    #[schema(max_items = 50)]
    product_types: Vec<String>,
    /// Redeem only: the reward.
    #[schema(value_type = Option<RewardId>)]
    reward_id: Option<String>,
}

/// What staff need to serve the customer after an accepted scan.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct ScanResult {
    /// The ledger entry the action made, if it changed points.
    #[schema(required = true)]
    entry: Option<EntryView>,
    member: MemberSummary,
    program: ProgramName,
    /// The member's last five ledger entries, newest first.
    recent: Vec<RecentEntry>,
    /// The reward a redemption redeemed.
    #[schema(required = true)]
    redemption: Option<Redemption>,
    replayed: bool,
    /// The program's active rewards, with whether the member can redeem each now.
    rewards: Vec<CounterReward>,
    scan: ScanView,
}

#[derive(Serialize, ToSchema)]
struct ProgramName {
    id: ProgramId,
    name: String,
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct CounterReward {
    affordable: bool,
    #[schema(value_type = i64)]
    cost: Points,
    id: RewardId,
    name: String,
    /// A single-use reward this member has already redeemed.
    redeemed: bool,
    repeatable: bool,
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct RecentEntry {
    amount: i64,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    created_at: String,
    kind: EntryKind,
    reason: String,
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct Redemption {
    #[schema(value_type = i64)]
    cost: Points,
    name: String,
    reward_id: RewardId,
}

/// A refused scan: the error, and the scan as it was recorded.
#[derive(Serialize, ToSchema)]
struct ScanRejected {
    error: ScanRejection,
    scan: ScanView,
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct ScanRejection {
    code: ErrorCode,
    message: String,
    reason: RejectReason,
}

/// A refused scan (recorded) or a refused request (not recorded).
struct ScanRefused;

impl utoipa::PartialSchema for ScanRefused {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(ScanRejected::name()))
            .item(Ref::from_schema_name(ErrorBody::name()))
            .into()
    }
}

impl ToSchema for ScanRefused {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            ScanRejected::name().into(),
            <ScanRejected as utoipa::PartialSchema>::schema(),
        ));
        <ScanRejected as ToSchema>::schemas(schemas);
    }
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct ScanList {
    /// Pass as `before` for older scans.
    #[schema(required = true)]
    next_before: Option<i64>,
    scans: Vec<ScanView>,
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

/// Scan a card (and act on it)
///
/// Submits the text read from a card's barcode, with what staff want to do: `lookup` (default),
/// `visit`, `purchase` (amount and product types through the earn rules) or `redeem` (a
/// reward). The code's signature is checked before any database lookup. Every request is
/// recorded as one append-only scan, accepted or rejected; accepted changes reach the member's
/// wallets through the outbox.
///
/// `Idempotency-Key` is required for `visit`, `purchase` and `redeem` (400
/// `idempotency_key_required` without it): a retry with the same key and request answers 200
/// with the first outcome (`replayed: true`) and applies nothing.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    post,
    path = "/api/v1/scans",
    operation_id = "scanCard",
    tag = "counter",
    params(
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Required for visit, purchase and redeem; unique per action within the program, reused on retries."),
    ),
    request_body = ScanBody,
    responses(
        (status = 200, description = "A replay of an earlier request with this key.", body = ScanResult),
        (status = 201, description = "Accepted: the member, what they can redeem now, and what the action did.", body = ScanResult),
        (status = 400, description = "`malformed_body`, or `idempotency_key_required`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such reward (recorded as a rejected scan, reason `unknown_reward`).", body = ScanRejected),
        (status = 409, description = "The action was refused on a good card (recorded as a rejected scan): `insufficient_points`, `reward_already_redeemed`, `reward_inactive`; or `idempotency_key_reused` (not recorded).", body = inline(ScanRefused)),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`scan_rejected`: the card was refused (forged, malformed, unknown, voided, superseded, another program's), recorded as a rejected scan; or `validation_failed` / `invalid_body` for a bad request (nothing recorded).", body = inline(ScanRefused)),
        KeyRefusals,
    )
)]
async fn scan(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ScanBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let staff = caller.key("recording a scan")?.clone();
    let request = body.into_inner().into_request(&req)?;
    let working = state.clone();
    let reply = to_the_end(&state.work, async move {
        let desk = Desk {
            store: &working.store,
            keys: working.cards.keys(),
            staff: &staff,
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
        .json(ScanResult {
            entry: a.entry.as_ref().map(EntryView::new),
            member: MemberSummary::new(&a.member, &a.program),
            program: ProgramName {
                id: a.program.id.clone(),
                name: a.program.name.clone(),
            },
            recent: recent
                .iter()
                .map(|e| RecentEntry {
                    amount: e.amount,
                    created_at: crate::clock::rfc3339(e.created_at),
                    kind: e.kind,
                    reason: e.reason.clone(),
                })
                .collect(),
            redemption: a.reward.as_ref().map(|r| Redemption {
                cost: r.cost,
                name: r.name.clone(),
                reward_id: r.id.clone(),
            }),
            replayed: a.replayed,
            rewards: rewards
                .iter()
                .filter(|r| r.active)
                .map(|r| {
                    let used = !r.repeatable && redeemed.contains(&r.id);
                    CounterReward {
                        affordable: !used && a.member.balance >= r.cost.value(),
                        cost: r.cost,
                        id: r.id.clone(),
                        name: r.name.clone(),
                        redeemed: used,
                        repeatable: r.repeatable,
                    }
                })
                .collect(),
            scan: ScanView::new(&a.scan),
        }))
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
    HttpResponse::build(code.status()).json(ScanRejected {
        error: ScanRejection {
            code,
            message: reason.message().to_string(),
            reason,
        },
        scan: ScanView::new(scan),
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this program's scans (a key limited to a program sees only its own).
    #[param(value_type = Option<ProgramId>)]
    program_id: Option<String>,
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Only scans with a smaller id (from `next_before`).
    before: Option<i64>,
}

/// Recent scans
///
/// Scans newest first, accepted and rejected, of one program or (for unscoped keys) all.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/scans",
    operation_id = "listScans",
    tag = "counter",
    params(ListQuery),
    responses(
        (status = 200, description = "The scans.", body = ScanList),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: an unknown parameter, or one of the wrong type; `validation_failed`: a value that breaks a rule, named in `field`.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = match (&query.program_id, &caller.program_id) {
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
    Ok(HttpResponse::Ok().json(ScanList {
        next_before,
        scans: scans.iter().map(ScanView::new).collect(),
    }))
}
