//! Member imports: `POST /programs/{id}/members/import` with a CSV body. Every row is checked
//! first; a file with any bad row is refused whole with each row's problem. Optionally the
//! new members join a list campaign, which is then sent.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::campaigns::{full_view, rejected, require_csv, MAX_CSV_BYTES};
use super::{load, resource, MANAGE};
use crate::domain::campaign::{Audience, CampaignStatus};
use crate::domain::import::parse_members;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::http::error_code::ErrorCode;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs/{id}/members/import")
            .app_data(web::PayloadConfig::new(MAX_CSV_BYTES))
            .route(web::post().to(import)),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// A draft list campaign the new members join.
    campaign_id: Option<String>,
    /// Send that campaign once the import is in.
    #[serde(default)]
    send: bool,
}

async fn import(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    require_csv(&req)?;
    let program = load::program(&state, &caller, &id).await?;
    let campaign = match &query.campaign_id {
        Some(c) => {
            let campaign = load::campaign(&state, &caller, c).await?;
            if campaign.program_id != program.id
                || campaign.audience != Audience::List
                || campaign.status != CampaignStatus::Draft
            {
                return Err(ApiError::new(
            ErrorCode::CampaignNotImportable,
                    "imported members can join a draft campaign of this program with a list audience",
                ));
            }
            Some(campaign)
        }
        None if query.send => {
            return Err(ApiError::new(
                ErrorCode::CampaignRequired,
                "send=true needs campaign_id",
            ))
        }
        None => None,
    };
    // Checking 100,000 rows takes a moment: off the async executor.
    let parsed = web::block(move || parse_members(&body, &mut |_| {}))
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("import check failed: {e}")))?;
    let rows = match parsed {
        Ok(rows) => rows,
        Err(errors) => return Ok(rejected(errors)),
    };
    let imported = state
        .store
        .import_members(
            &program,
            rows,
            campaign.as_ref().map(|c| &c.id),
            state.random.as_ref(),
            state.clock.now(),
            &mut |_| {},
        )
        .await?;
    let ids = match imported {
        Ok(ids) => ids,
        Err(errors) => return Ok(rejected(errors)),
    };
    tracing::info!(program = %program.id, members = ids.len(), by = %caller.actor(), "members imported");
    let mut answer = json!({ "imported": ids.len() });
    if let (Some(c), true) = (&campaign, query.send) {
        let started = state
            .store
            .start_campaign(&c.id, state.clock.now())
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::CampaignNotStartable,
                    "the members were imported, but the campaign could not be sent",
                )
            })?;
        answer["campaign"] = full_view(&state, &started).await?;
    }
    Ok(HttpResponse::Created().json(answer))
}
