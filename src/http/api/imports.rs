//! Member imports: `POST /programs/{id}/members/import` with a CSV body. Every row is checked
//! first; a file with any bad row is refused whole with each row's problem. Optionally the
//! new members join a list campaign, which is then sent.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::campaigns::{
    full_view, rejected, require_csv, CampaignView, CsvRejected, MAX_CSV_BYTES,
};
use super::{load, MANAGE};
use crate::domain::campaign::{Audience, CampaignStatus};
use crate::domain::ids::ProgramId;
use crate::domain::import::parse_members;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{KeyRefusals, UnsupportedMediaType};
use crate::http::routes::Routes;
use crate::state::AppState;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(import))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_import, import)
        .app_data(__path_import, web::PayloadConfig::new(MAX_CSV_BYTES));
}

/// What an import made.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct Imported {
    /// The campaign the members joined, as sent (with `send=true` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    campaign: Option<CampaignView>,
    /// How many members were imported.
    imported: usize,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// A draft list campaign the new members join.
    campaign_id: Option<String>,
    /// Send that campaign once the import is in.
    #[serde(default)]
    send: bool,
}

/// Import members from CSV
///
/// Columns `external_id`, `name` (required), `email`, `phone`, `consent_email`,
/// `consent_sms` (yes/no, true/false, 1/0). Every row is checked the way an enrollment is, and
/// external ids against the program; any problem refuses the whole file with each row's
/// problem, nothing written. Otherwise all rows are enrolled in one transaction, their
/// consent recorded as `import`. With `campaign_id` (a draft campaign of the program with a
/// `list` audience) the new members join it; with `send=true` it is then sent. Up to 100,000
/// rows and 32 MiB.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/programs/{id}/members/import",
    operation_id = "importMembers",
    tag = "members",
    params(("id" = ProgramId, Path, description = "The program's id."), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "members"),
    responses(
        (status = 201, description = "Imported.", body = inline(Imported)),
        (status = 400, description = "`campaign_required`: send=true without campaign_id.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such program or campaign.", body = ErrorBody),
        (status = 409, description = "`campaign_not_importable` or `campaign_not_startable`.", body = ErrorBody),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`csv_rejected`: every problem with its row.", body = CsvRejected),
        KeyRefusals,
    )
)]
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
    let mut answer = Imported {
        campaign: None,
        imported: ids.len(),
    };
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
        answer.campaign = Some(full_view(&state, &started).await?);
    }
    Ok(HttpResponse::Created().json(answer))
}
