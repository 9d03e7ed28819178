//! Members: enroll, list, read, update, void, re-issue the card, and download a member's pass.

use actix_web::{web, HttpResponse};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::views::MemberView;
use super::{load, MANAGE, READ};
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::{self, EnrollInput, Member, MemberPatchInput, MemberStatus};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::openapi::responses::{BodyRefusals, KeyRefusals, Unprocessable};
use crate::http::routes::Routes;
use crate::http::{pass_response, Delivery};
use crate::state::AppState;
use crate::storage::{CardAction, MemberCursor, MemberQuery, MemberSort, SortKey};

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(enroll, list, get, patch, void, reissue, pass))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_enroll, enroll)
        .add(__path_list, list)
        .add(__path_get, get)
        .add(__path_patch, patch)
        .add(__path_void, void)
        .add(__path_reissue, reissue)
        .add(__path_pass, pass);
}

/// A page of members.
#[derive(Serialize, ToSchema)]
struct MemberPage {
    members: Vec<MemberView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Enroll a member
///
/// Enrolls a card holder: no points yet, the tier that zero lifetime points reach. The answer
/// carries `pass_url`, the public download link of the card.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/members",
    operation_id = "enrollMember",
    tag = "members",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
    ),
    request_body = EnrollInput,
    responses(
        (status = 201, description = "The member.", body = MemberView),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 409, description = "`external_id_taken`: another member of this program has that external id.", body = ErrorBody),
        (status = 422, response = Unprocessable),
        KeyRefusals,
        BodyRefusals,
    )
)]
async fn enroll(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<EnrollInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let new = body.into_inner().validated()?;
    let now = state.clock.now();
    let member = Member::enroll(&program, new, state.random.as_ref(), now);
    state
        .store
        .insert_member(
            &member,
            crate::domain::distribution::ConsentSource::Enrollment,
        )
        .await?;
    tracing::info!(member = %member.id, program = %program.id, "member enrolled");
    Ok(HttpResponse::Created().json(MemberView::new(&member, &program, &state.cards)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    status: Option<String>,
    external_id: Option<String>,
    q: Option<String>,
    tier: Option<String>,
    sort: Option<String>,
}

/// A page's end as an opaque string: the sort, the member id and the sort value.
pub(crate) fn encode_cursor(c: &MemberCursor) -> String {
    let key = match &c.key {
        SortKey::Number(n) => format!("n{n}"),
        SortKey::Text(t) => format!("t{t}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}:{}:{key}",
        c.sort.as_str(),
        c.id
    ))
}

/// A cursor from [`encode_cursor`], which must be of `sort`.
pub(crate) fn decode_cursor(s: &str, sort: MemberSort) -> Result<MemberCursor, Invalid> {
    let bad = || {
        Invalid::new(
            "cursor",
            "is not a cursor from a previous page of this sort",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.splitn(3, ':');
    let (Some(of), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if MemberSort::parse(of) != Some(sort) {
        return Err(bad());
    }
    let id = MemberId::parse(id).map_err(|_| bad())?;
    let key = match (sort, key.split_at_checked(1)) {
        (MemberSort::Name, Some(("t", text))) => SortKey::Text(text.to_string()),
        (MemberSort::Joined | MemberSort::Newest | MemberSort::Points, Some(("n", n))) => {
            SortKey::Number(n.parse().map_err(|_| bad())?)
        }
        _ => return Err(bad()),
    };
    Ok(MemberCursor {
        sort,
        key,
        id: id.to_string(),
    })
}

/// List members
///
/// Members in enrollment order, a page at a time; pass `next_cursor` back as `cursor`. Unknown
/// query parameters answer 422 `invalid_query`.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/members",
    operation_id = "listMembers",
    tag = "members",
    params(
        ("id" = ProgramId, Path, description = "The program's id."),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 500 (default 50). A non-number answers 422 `invalid_query`, a number out of range 422 `validation_failed`.", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` from the previous page."),
        ("status" = Option<MemberStatus>, Query, description = "Only members with this status."),
        ("external_id" = Option<String>, Query, description = "Only the member with this external id."),
        ("q" = Option<String>, Query, description = "Search, case-insensitive: the start of the name or of a word in it, of the email address or of the external id; a phone number, with its country code (`+49 151…`) or nationally (`0151…`); or a member id. At most 100 characters."),
        ("tier" = Option<String>, Query, description = "Only members of this tier."),
        ("sort" = Option<String>, Query, description = "`joined` (the default: the order they joined in), `newest`, `name` (A to Z, case and accents aside) or `points` (the highest balance first). A cursor continues the sort it came from."),
    ),
    responses(
        (status = 200, description = "A page of members.", body = MemberPage),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: a parameter of the wrong type, or an unknown parameter; `validation_failed`: `limit` out of range, an unknown `status`, a bad `external_id`, or a `cursor` that is not from a previous page.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let sort = match q.sort.as_deref() {
        None => MemberSort::Joined,
        Some(s) => MemberSort::parse(s)
            .ok_or_else(|| Invalid::new("sort", "must be one of joined, newest, name, points"))?,
    };
    let query = MemberQuery {
        status: q.status.as_deref().map(MemberStatus::parse).transpose()?,
        external_id: q
            .external_id
            .as_deref()
            .map(member::external_id)
            .transpose()?,
        search: q
            .q
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| crate::domain::text("q", t, 100))
            .transpose()?,
        tier: q.tier.clone(),
        sort,
        after: q
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, sort))
            .transpose()?,
        limit,
        ..MemberQuery::default()
    };
    let page = state.store.members(&program.id, &query).await?;
    Ok(HttpResponse::Ok().json(MemberPage {
        members: page
            .members
            .iter()
            .map(|m| MemberView::new(m, &program, &state.cards))
            .collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// Get a member
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}",
    operation_id = "getMember",
    tag = "members",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
    ),
    responses(
        (status = 200, description = "The member.", body = MemberView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(MemberView::new(&member, &program, &state.cards)))
}

/// Update a member
///
/// Changes contact details and consent. Absent keys stay as they are; `null` clears
/// `external_id`, `email` or `phone`; removing an address withdraws the consent that depended
/// on it.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    patch,
    path = "/api/v1/members/{id}",
    operation_id = "updateMember",
    tag = "members",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
    ),
    request_body = MemberPatchInput,
    responses(
        (status = 200, description = "The member.", body = MemberView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`member_voided`: the card has been voided; `external_id_taken`: another member of this program has that external id.", body = ErrorBody),
        (status = 422, response = Unprocessable),
        KeyRefusals,
        BodyRefusals,
    )
)]
async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<MemberPatchInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (program, mut member) = load::member(&state, &caller, &id).await?;
    if member.status == MemberStatus::Voided {
        return Err(store_error(
            crate::storage::StoreError::Conflict(crate::storage::Conflict::MemberVoided),
            "member",
        ));
    }
    let changed = body.into_inner().apply(&mut member)?;
    let member = if changed {
        state
            .store
            .update_member_profile(&member, state.clock.now())
            .await
            .map_err(|e| store_error(e, "member"))?
    } else {
        member
    };
    Ok(HttpResponse::Ok().json(MemberView::new(&member, &program, &state.cards)))
}

/// Void a member's card
///
/// The pass on the phone shows as void and its barcode and download link stop working. Voiding
/// a voided card changes nothing and answers 200. Takes no body.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/void",
    operation_id = "voidMember",
    tag = "members",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
    ),
    responses(
        (status = 200, description = "The voided member.", body = MemberView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn void(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_card(state, caller, id, CardAction::Void).await
}

/// Re-issue a member's card
///
/// For a barcode that was shared or a phone that was lost: the card gets a new barcode and a
/// new download link, and the old ones are refused from now on (a scan of an old barcode is
/// recorded as rejected, reason `superseded`). The serial number stays, so the phones holding
/// the card receive the new pass like any other update. Takes no body.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/reissue",
    operation_id = "reissueCard",
    tag = "members",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
    ),
    responses(
        (status = 200, description = "The member, with the card's new `pass_url`.", body = MemberView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`member_voided`: a voided card cannot be re-issued.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn reissue(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_card(state, caller, id, CardAction::Reissue).await
}

/// Voids the card (`CardAction::Void`: the pass on the phone shows as void and its barcode
/// stops working) or re-issues it (`CardAction::Reissue`: a barcode shared or a phone lost;
/// new barcode and download link, the old ones refused from now on).
async fn change_card(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    action: CardAction,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let member = state
        .store
        .change_card(&member.id, action, state.clock.now())
        .await
        .map_err(|e| store_error(e, "member"))?;
    tracing::info!(member = %member.id, ?action, generation = member.card_generation, "card changed");
    Ok(HttpResponse::Ok().json(MemberView::new(&member, &program, &state.cards)))
}

/// Download a member's pass
///
/// The member's current signed `.pkpass` (as an attachment), for integrations that deliver it
/// themselves.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/pass",
    operation_id = "downloadMemberPass",
    tag = "members",
    params(
        ("id" = MemberId, Path, description = "The member's id."),
        ("If-Modified-Since" = Option<String>, Header, description = "An HTTP date; when the pass has not changed since, the answer is 304 without a body."),
    ),
    responses(
        (status = 200, description = "The signed pass.", body = String, content_type = "application/vnd.apple.pkpass", headers(("Last-Modified" = String, description = "When the pass last changed (HTTP date, whole seconds)."), ("Content-Disposition" = String, description = "The file name, e.g. `Test Beans.pkpass`."), ("Cache-Control" = String, description = "`no-cache`."))),
        (status = 304, description = "The pass has not changed since `If-Modified-Since`; no body.", headers(("Last-Modified" = String, description = "When the pass last changed (HTTP date, whole seconds)."))),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn pass(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let signed = state
        .cards
        .apple_pass(&state.store, &program, &member)
        .await?;
    Ok(pass_response(&req, &signed, Delivery::Attachment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage_and_other_sorts() {
        let id = "mem_aaaaaaaaaaaaaaaa".to_string();
        for (sort, key) in [
            (MemberSort::Joined, SortKey::Number(1_700_000_000_000_000)),
            (MemberSort::Points, SortKey::Number(-5)),
            (MemberSort::Name, SortKey::Text("anna: o'brien".into())),
        ] {
            let c = MemberCursor {
                sort,
                key,
                id: id.clone(),
            };
            assert_eq!(decode_cursor(&encode_cursor(&c), sort).unwrap(), c);
            let other = if sort == MemberSort::Newest {
                MemberSort::Name
            } else {
                MemberSort::Newest
            };
            assert!(decode_cursor(&encode_cursor(&c), other).is_err());
        }
        assert!(decode_cursor("garbage!", MemberSort::Joined).is_err());
        let raw = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for bad in [
            "1:prg_x",
            "joined:prg_x:n1",
            "joined:mem_aaaaaaaaaaaaaaaa:tx",
        ] {
            assert!(
                decode_cursor(&raw(bad), MemberSort::Joined).is_err(),
                "{bad}"
            );
        }
    }
}
