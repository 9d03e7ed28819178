//! Links: a program's enrollment links (for posters, a shop's site, a campaign) and a
//! member's personal card link; list, read and revoke them. Admins and marketers only.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{load, resource, MANAGE};
use crate::cards::Cards;
use crate::clock::rfc3339;
use crate::domain::distribution::{Channel, LinkCode, LinkKind};
use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::domain::member::MemberStatus;
use crate::domain::{text, Invalid};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::state::AppState;
use crate::storage::{Conflict, LinkRecord, NewLink, StoreError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs/{id}/links")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(resource("/members/{id}/links").route(web::post().to(card_link)))
    .service(
        resource("/links/{code}")
            .route(web::get().to(get))
            .route(web::delete().to(revoke)),
    );
}

fn view(cards: &Cards, l: &LinkRecord) -> Value {
    let url = cards.urls().link(&l.code);
    json!({
        "code": l.code,
        "kind": l.kind,
        "program_id": l.program_id,
        "member_id": l.member_id,
        "url": url,
        "qr_png": format!("{url}/qr.png"),
        "qr_svg": format!("{url}/qr.svg"),
        "campaign_id": l.campaign_id,
        "channel": l.channel,
        "label": l.label,
        "created_at": rfc3339(l.created_at),
        "revoked_at": l.revoked_at.map(rfc3339),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateLink {
    campaign_id: Option<String>,
    channel: Option<String>,
    label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCardLink {
    campaign_id: Option<String>,
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    member_id: Option<String>,
    campaign_id: Option<String>,
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
    Ok(HttpResponse::Created().json(view(&state.cards, &link)))
}

/// The member's personal card link for the campaign and channel: the live one (200), or a
/// new one (201).
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
    Ok(answer.json(view(&state.cards, &link)))
}

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
    Ok(HttpResponse::Ok().json(json!({
        "links": links.iter().map(|l| view(&state.cards, l)).collect::<Vec<_>>()
    })))
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

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let link = load_link(&state, &caller, &code).await?;
    Ok(HttpResponse::Ok().json(view(&state.cards, &link)))
}

/// Revokes the link: its page answers 410 from now on. Revoking again changes nothing.
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
