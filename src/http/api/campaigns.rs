//! Campaigns: create, list, read (with progress and funnel), set a list audience from CSV,
//! preview, send (or switch an automation on), pause.

mod audience;
mod preview;
mod views;

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

pub(super) use audience::{rejected, require_csv, CsvRejected, MAX_CSV_BYTES};
pub(super) use views::{full_view, CampaignView};

use super::{load, MANAGE};
use crate::domain::campaign::CampaignInput;
use crate::domain::ids::{CampaignId, ProgramId};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{
    Forbidden, InternalError, MalformedBody, PayloadTooLarge, Unauthorized, Unprocessable,
    UnsupportedMediaType,
};
use crate::http::routes::Routes;
use crate::reports::charts::funnel;
use crate::state::AppState;
use preview::OptionalPreviewBody;
use views::CampaignList;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(
    paths(
        create,
        list,
        get,
        audience::set_audience,
        preview::preview,
        send,
        pause,
        funnel_chart
    ),
    components(schemas(CsvRejected)),
    modifiers(&OptionalPreviewBody)
)]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_get, get)
        .add(audience::__path_set_audience, audience::set_audience)
        .app_data(
            audience::__path_set_audience,
            web::PayloadConfig::new(MAX_CSV_BYTES),
        )
        .add(preview::__path_preview, preview::preview)
        .add(__path_send, send)
        .add(__path_pause, pause)
        .add(__path_funnel_chart, funnel_chart);
}

/// The campaign's funnel as SVG
///
/// Sent, delivered, clicked, installed, redeemed, drawn for the dashboard.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}/funnel.svg",
    operation_id = "campaignFunnelChart",
    tag = "campaigns",
    params(("id" = CampaignId, Path, description = "Campaign id (`cmp_` + 16 base32 characters).")),
    responses(
        (status = 200, description = "An SVG image.", body = String, content_type = "image/svg+xml"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such campaign, or its id does not parse.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn funnel_chart(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let campaign = load::campaign(&state, &caller, &id).await?;
    let f = state.store.campaign_funnel(&campaign.id).await?;
    let stages = [
        ("Sent", f.sent),
        ("Delivered", f.delivered),
        ("Clicked", f.clicked),
        ("Installed", f.installed),
        ("Redeemed", f.redeemed),
    ];
    let svg = funnel(
        &format!("Campaign: {}", campaign.name),
        &stages.map(|(l, n)| (l.to_string(), n)),
    );
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "no-store"))
        .body(svg))
}

/// Create a campaign
///
/// Created as a draft: preview it, then send it (or switch an automation on).
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/campaigns",
    operation_id = "createCampaign",
    tag = "campaigns",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    request_body = CampaignInput,
    responses(
        (status = 201, description = "The campaign, its progress and funnel.", body = CampaignView),
        (status = 400, response = MalformedBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
    )
)]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CampaignInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let campaign = body.into_inner().into_campaign(
        &program.id,
        &program.tiers,
        state.random.as_ref(),
        state.clock.now(),
    )?;
    state.store.insert_campaign(&campaign).await?;
    tracing::info!(campaign = %campaign.id, program = %program.id, "campaign created");
    Ok(HttpResponse::Created().json(full_view(&state, &campaign).await?))
}

/// List a program's campaigns
///
/// Newest first, each with progress and funnel.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/campaigns",
    operation_id = "listCampaigns",
    tag = "campaigns",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    responses(
        (status = 200, description = "The campaigns.", body = inline(CampaignList)),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let mut campaigns = Vec::new();
    for c in state.store.campaigns(&program.id).await? {
        campaigns.push(full_view(&state, &c).await?);
    }
    Ok(HttpResponse::Ok().json(CampaignList { campaigns }))
}

/// Read a campaign
///
/// With its messages by status (and why some were skipped) and its funnel sent -> delivered
/// -> clicked -> installed -> redeemed.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}",
    operation_id = "getCampaign",
    tag = "campaigns",
    params(("id" = CampaignId, Path, description = "Campaign id (`cmp_` + 16 base32 characters).")),
    responses(
        (status = 200, description = "The campaign, its progress and funnel.", body = CampaignView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such campaign, or its id does not parse.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let campaign = load::campaign(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(full_view(&state, &campaign).await?))
}

/// Send a campaign
///
/// A draft one-off campaign starts sending (status `sending`, then `sent` once every member
/// has a message); an automation (draft or paused) becomes `active` and runs now and on its
/// schedule. Messages go through the outbox with retries; members without consent or address
/// are recorded as skipped.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/send",
    operation_id = "sendCampaign",
    tag = "campaigns",
    params(("id" = CampaignId, Path, description = "Campaign id (`cmp_` + 16 base32 characters).")),
    responses(
        (status = 202, description = "The campaign, its progress and funnel.", body = CampaignView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such campaign, or its id does not parse.", body = ErrorBody),
        (status = 409, description = "`campaign_not_startable` (already sent or sending) or `campaign_sends_nothing` (print and web campaigns).", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn send(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let campaign = load::campaign(&state, &caller, &id).await?;
    if !campaign.sends() {
        return Err(ApiError::new(
            ErrorCode::CampaignSendsNothing,
            "print and web campaigns send no messages; share their links instead",
        ));
    }
    match state
        .store
        .start_campaign(&campaign.id, state.clock.now())
        .await?
    {
        Some(started) => {
            tracing::info!(campaign = %started.id, by = %caller.actor(), "campaign started");
            Ok(HttpResponse::Accepted().json(full_view(&state, &started).await?))
        }
        None => Err(ApiError::new(
            ErrorCode::CampaignNotStartable,
            format!(
                "the campaign is {}; only a draft (or a paused automation) can be sent",
                campaign.status.as_str()
            ),
        )),
    }
}

/// Pause an automation
///
/// It stops running until sent again.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/pause",
    operation_id = "pauseCampaign",
    tag = "campaigns",
    params(("id" = CampaignId, Path, description = "Campaign id (`cmp_` + 16 base32 characters).")),
    responses(
        (status = 200, description = "The campaign, its progress and funnel.", body = CampaignView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such campaign, or its id does not parse.", body = ErrorBody),
        (status = 409, description = "`campaign_not_active`.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn pause(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let campaign = load::campaign(&state, &caller, &id).await?;
    if !state
        .store
        .pause_campaign(&campaign.id, state.clock.now())
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::CampaignNotActive,
            "only an active automation can be paused",
        ));
    }
    let campaign = state.store.campaign(&campaign.id).await?;
    Ok(HttpResponse::Ok().json(full_view(&state, &campaign).await?))
}
