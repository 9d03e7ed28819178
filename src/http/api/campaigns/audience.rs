//! A list audience set from CSV: the one key column (`external_id` or `email`), the members
//! it names, and the refusal of a file with every problem in it (shared with member imports).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::campaign::Audience;
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::import::RowError;
use crate::http::api::{load, MANAGE};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{
    Forbidden, InternalError, Unauthorized, UnsupportedMediaType,
};
use crate::state::AppState;

/// Largest CSV body accepted (an audience list, a member import).
pub(in crate::http::api) const MAX_CSV_BYTES: usize = 32 * 1024 * 1024;

/// How many members a list audience holds.
#[derive(Serialize, ToSchema)]
struct AudienceSet {
    members: usize,
}

/// A refused CSV file: every problem with its row; nothing was written.
#[derive(Serialize, ToSchema)]
pub(in crate::http::api) struct CsvRejected {
    #[schema(inline)]
    error: CsvRejection,
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct CsvRejection {
    #[schema(schema_with = csv_rejected_code)]
    code: ErrorCode,
    message: String,
    #[schema(inline)]
    rows: Vec<RowProblem>,
}

/// One problem in the file.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct RowProblem {
    /// The column, empty when the problem is the row or the header itself.
    field: String,
    message: String,
    /// Line as a spreadsheet shows it; the header is 1.
    row: usize,
}

/// `csv_rejected`, the one code of a refused file.
fn csv_rejected_code() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["csv_rejected"]))
        .build()
}

/// Set a list audience from CSV
///
/// One column, `external_id` or `email`, naming active members of the program. Every unknown
/// value is reported with its row and nothing changes. Up to 32 MiB.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/campaigns/{id}/audience",
    operation_id = "setCampaignAudience",
    tag = "campaigns",
    params(("id" = CampaignId, Path, description = "Campaign id (`cmp_` + 16 base32 characters).")),
    request_body(content = String, content_type = "text/csv", description = "external_id or email column"),
    responses(
        (status = 200, description = "How many members the list holds.", body = inline(AudienceSet)),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such campaign, or its id does not parse.", body = ErrorBody),
        (status = 409, description = "`not_a_list_audience`: the campaign's audience is not `list`.", body = ErrorBody),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`csv_rejected`: every problem with its row.", body = CsvRejected),
        (status = 500, response = InternalError),
    )
)]
pub(super) async fn set_audience(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    require_csv(&req)?;
    let campaign = load::campaign(&state, &caller, &id).await?;
    if campaign.audience != Audience::List {
        return Err(ApiError::new(
            ErrorCode::NotAListAudience,
            "this campaign's audience is not a list; create it with {\"kind\": \"list\"}",
        ));
    }
    let (by_email, keys) = match audience_keys(&body) {
        Ok(k) => k,
        Err(errors) => return Ok(rejected(errors)),
    };
    let known = state
        .store
        .member_ids_by(&campaign.program_id, by_email)
        .await?;
    let mut ids: Vec<MemberId> = Vec::new();
    let mut errors = Vec::new();
    for (row, key) in keys {
        let key = if by_email { key.to_lowercase() } else { key };
        match known.get(&key).or_else(|| {
            // Stored addresses keep the local part as given.
            by_email
                .then(|| known.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)))
                .flatten()
                .map(|(_, v)| v)
        }) {
            Some(id) => ids.push(id.clone()),
            None => errors.push(RowError {
                row,
                field: if by_email { "email" } else { "external_id" }.into(),
                message: format!("no active member of the program has {key:?}"),
            }),
        }
    }
    if !errors.is_empty() {
        return Ok(rejected(errors));
    }
    ids.sort();
    ids.dedup();
    state.store.set_campaign_members(&campaign.id, &ids).await?;
    Ok(HttpResponse::Ok().json(AudienceSet { members: ids.len() }))
}

/// Whether an audience CSV names members by email (else by external id), and each value
/// with its row number.
type AudienceKeys = (bool, Vec<(usize, String)>);

/// The one key column of an audience CSV.
fn audience_keys(body: &[u8]) -> Result<AudienceKeys, Vec<RowError>> {
    let err = |row, message: String| {
        vec![RowError {
            row,
            field: String::new(),
            message,
        }]
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body));
    let header = reader
        .headers()
        .map_err(|e| err(1, format!("the header cannot be read: {e}")))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>();
    let by_email = match header.as_slice() {
        [h] if h == "email" => true,
        [h] if h == "external_id" => false,
        _ => {
            return Err(err(
                1,
                "the file must have one column, external_id or email".into(),
            ))
        }
    };
    let mut keys = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| err(i + 2, format!("the row cannot be read: {e}")))?;
        if let Some(v) = record.get(0).filter(|v| !v.is_empty()) {
            keys.push((i + 2, v.to_string()));
        }
    }
    Ok((by_email, keys))
}

pub(in crate::http::api) fn require_csv(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("text/csv") {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the file as text/csv",
        ))
    }
}

/// 422 with every row's problem; nothing was written.
pub(in crate::http::api) fn rejected(errors: Vec<RowError>) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(CsvRejected {
        error: CsvRejection {
            code: ErrorCode::CsvRejected,
            message: format!(
                "{} problem(s) in the file; nothing was written",
                errors.len()
            ),
            rows: errors
                .into_iter()
                .map(|e| RowProblem {
                    field: e.field,
                    message: e.message,
                    row: e.row,
                })
                .collect(),
        },
    })
}
