//! Links: a program's enrollment links (for posters, a shop's site, a campaign) and a
//! member's personal card link; list, read and revoke them. Admins and marketers only.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{load, MANAGE};
use crate::cards::Cards;
use crate::clock::rfc3339;
use crate::domain::distribution::{Channel, LinkCode, LinkKind};
use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::domain::member::MemberStatus;
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::openapi::responses::{BodyRefusals, KeyRefusals};
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::storage::{Conflict, LinkRecord, NewLink, StoreError};

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(create, list, card_link, get, revoke))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_card_link, card_link)
        .add(__path_get, get)
        .add(__path_revoke, revoke);
}

/// A link as the API answers it.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Link)]
struct LinkView {
    #[schema(required = true)]
    campaign_id: Option<CampaignId>,
    #[schema(required = true)]
    channel: Option<Channel>,
    code: LinkCode,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    created_at: String,
    kind: LinkKind,
    #[schema(required = true)]
    label: Option<String>,
    /// The member of a card link; null for enrollment links.
    #[schema(required = true)]
    member_id: Option<MemberId>,
    program_id: ProgramId,
    /// The link's QR code as PNG (`?size=` 64 to 2048 pixels, default 512).
    #[schema(format = "uri")]
    qr_png: String,
    /// The link's QR code as SVG.
    #[schema(format = "uri")]
    qr_svg: String,
    /// When the link was revoked; its page answers 410 since.
    #[schema(required = true, format = DateTime)]
    revoked_at: Option<String>,
    /// The landing page: `{public base url}/c/{code}`.
    #[schema(format = "uri")]
    url: String,
}

impl LinkView {
    fn new(cards: &Cards, l: &LinkRecord) -> LinkView {
        let url = cards.urls().link(&l.code);
        LinkView {
            campaign_id: l.campaign_id.clone(),
            channel: l.channel,
            code: l.code.clone(),
            created_at: rfc3339(l.created_at),
            kind: l.kind,
            label: l.label.clone(),
            member_id: l.member_id.clone(),
            program_id: l.program_id.clone(),
            qr_png: format!("{url}/qr.png"),
            qr_svg: format!("{url}/qr.svg"),
            revoked_at: l.revoked_at.map(rfc3339),
            url,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct LinkList {
    links: Vec<LinkView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LinkInput)]
struct CreateLink {
    #[schema(value_type = Option<CampaignId>)]
    campaign_id: Option<String>,
    #[schema(value_type = Option<Channel>)]
    channel: Option<String>,
    /// What the link is for, e.g. "Window poster".
    #[schema(max_length = 100)]
    label: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CardLinkInput)]
struct CreateCardLink {
    #[schema(value_type = Option<CampaignId>)]
    campaign_id: Option<String>,
    #[schema(value_type = Option<Channel>)]
    channel: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this member's card links.
    #[param(value_type = Option<MemberId>)]
    member_id: Option<String>,
    /// Only this campaign's links.
    #[param(value_type = Option<CampaignId>)]
    campaign_id: Option<String>,
    /// At most this many (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A campaign of `program`: one of another program is as unknown as a missing one.
async fn campaign(
    state: &AppState,
    program: &ProgramId,
    id: Option<&str>,
) -> Result<Option<CampaignId>, ApiError> {
    let Some(id) = id else {
        return Ok(None);
    };
    let unknown = || Invalid::new("campaign_id", "is not a campaign of this program");
    let id = CampaignId::parse(id).map_err(|_| unknown())?;
    match state.store.campaign_program(&id).await? {
        Some(p) if &p == program => Ok(Some(id)),
        _ => Err(unknown().into()),
    }
}

fn channel(s: Option<&str>) -> Result<Option<Channel>, Invalid> {
    s.map(Channel::parse).transpose()
}

/// Create an enrollment link
///
/// A public link to the program's sign-up page, for a poster, a shop's site or a campaign.
/// Members who enroll through it are attributed to its campaign and channel. The answer
/// carries the link and its QR images for print.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/links",
    operation_id = "createEnrollLink",
    tag = "links",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    request_body = CreateLink,
    responses(
        (status = 201, description = "The link.", body = LinkView),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, description = "`invalid_body`: unknown fields or wrong types; `validation_failed`: the campaign is not one of this program, an unknown channel, or an empty or too long label.", body = ErrorBody),
        KeyRefusals,
        BodyRefusals,
    )
)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CreateLink>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let body = body.into_inner();
    let link = NewLink {
        program_id: program.id.clone(),
        kind: LinkKind::Enroll,
        member_id: None,
        campaign_id: campaign(&state, &program.id, body.campaign_id.as_deref()).await?,
        channel: channel(body.channel.as_deref())?,
        label: body
            .label
            .as_deref()
            .map(|l| text("label", l, 100))
            .transpose()?,
    };
    let link = state.store.create_link(&link, state.clock.now()).await?;
    tracing::info!(program = %program.id, link = ?link.code, "enrollment link created");
    Ok(HttpResponse::Created().json(LinkView::new(&state.cards, &link)))
}

/// Get a member's card link
///
/// The member's personal link to their card page (the wallet buttons), for an email or SMS.
/// One per member, campaign and channel: asking again answers the live one.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/links",
    operation_id = "createCardLink",
    tag = "links",
    params(("id" = MemberId, Path, description = "The member's id.")),
    request_body = CreateCardLink,
    responses(
        (status = 200, description = "The member's existing link for this campaign and channel.", body = LinkView),
        (status = 201, description = "A new link.", body = LinkView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`member_voided`: the member's card is voided.", body = ErrorBody),
        (status = 422, description = "`invalid_body`: unknown fields or wrong types; `validation_failed`: the campaign is not one of the member's program, or an unknown channel.", body = ErrorBody),
        KeyRefusals,
        BodyRefusals,
    )
)]
async fn card_link(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CreateCardLink>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    if member.status == MemberStatus::Voided {
        return Err(store_error(
            StoreError::Conflict(Conflict::MemberVoided),
            "member",
        ));
    }
    let body = body.into_inner();
    let link = NewLink {
        program_id: program.id.clone(),
        kind: LinkKind::Card,
        member_id: Some(member.id.clone()),
        campaign_id: campaign(&state, &program.id, body.campaign_id.as_deref()).await?,
        channel: channel(body.channel.as_deref())?,
        label: None,
    };
    let (link, made) = state
        .store
        .get_or_create_link(&link, state.clock.now())
        .await?;
    let mut answer = if made {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(answer.json(LinkView::new(&state.cards, &link)))
}

/// List a program's links
///
/// The program's enrollment and card links, newest first.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/links",
    operation_id = "listLinks",
    tag = "links",
    params(("id" = ProgramId, Path, description = "The program's id."), ListQuery),
    responses(
        (status = 200, description = "The links.", body = LinkList),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: unknown parameters; `validation_failed`: a malformed member or campaign id, or a limit out of range.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let member = q
        .member_id
        .as_deref()
        .map(|m| MemberId::parse(m).map_err(|_| Invalid::new("member_id", "is not a member id")))
        .transpose()?;
    let campaign = q
        .campaign_id
        .as_deref()
        .map(|c| {
            CampaignId::parse(c).map_err(|_| Invalid::new("campaign_id", "is not a campaign id"))
        })
        .transpose()?;
    let links = state
        .store
        .links(&program.id, member.as_ref(), campaign.as_ref(), limit)
        .await?;
    Ok(HttpResponse::Ok().json(LinkList {
        links: links
            .iter()
            .map(|l| LinkView::new(&state.cards, l))
            .collect(),
    }))
}

/// The link the path names, if the caller may see it.
async fn load_link(state: &AppState, caller: &Caller, code: &str) -> Result<LinkRecord, ApiError> {
    let code = LinkCode::parse(code).map_err(|_| ApiError::not_found("link"))?;
    let link = state
        .store
        .link(&code)
        .await
        .map_err(|e| store_error(e, "link"))?;
    caller.check_program(&link.program_id)?;
    Ok(link)
}

/// Read a link
///
/// One link, revoked or not.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/links/{code}",
    operation_id = "getLink",
    tag = "links",
    params(("code" = String, Path, description = "The link's code (the last part of its URL).")),
    responses(
        (status = 200, description = "The link.", body = LinkView),
        (status = 404, description = "`not_found`: no such link, or the code does not parse.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let link = load_link(&state, &caller, &code).await?;
    Ok(HttpResponse::Ok().json(LinkView::new(&state.cards, &link)))
}

/// Revoke a link
///
/// The link stops opening anything: its page, QR images and downloads answer 410. Revoking
/// again changes nothing. A member asking for a card link afterwards gets a new one.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    delete,
    path = "/api/v1/links/{code}",
    operation_id = "revokeLink",
    tag = "links",
    params(("code" = String, Path, description = "The link's code (the last part of its URL).")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "`not_found`: no such link, or the code does not parse.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let link = load_link(&state, &caller, &code).await?;
    state
        .store
        .revoke_link(&link.code, state.clock.now())
        .await
        .map_err(|e| store_error(e, "link"))?;
    tracing::info!(link = ?link.code, "link revoked");
    Ok(HttpResponse::NoContent().finish())
}
