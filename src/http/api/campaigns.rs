//! Campaigns: create, list, read (with progress and funnel), set a list audience from CSV,
//! preview, send (or switch an automation on), pause.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use super::{load, MANAGE};
use crate::clock::rfc3339;
use crate::domain::campaign::{Audience, Automation, Campaign, CampaignInput, CampaignStatus};
use crate::domain::distribution::{Channel, MessageChannel};
use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::domain::import::RowError;
use crate::domain::member::Member;
use crate::domain::sms::sms_size;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{
    Forbidden, InternalError, MalformedBody, PayloadTooLarge, Unauthorized, Unprocessable,
    UnsupportedMediaType,
};
use crate::http::routes::Routes;
use crate::messaging::render::{render_email, render_sms, MessageContext};
use crate::reports::charts::funnel;
use crate::state::AppState;
use crate::storage::{skip_reason, ChannelFunnel, Funnel, Progress};

/// Largest CSV body accepted (an audience list, a member import).
pub(super) const MAX_CSV_BYTES: usize = 32 * 1024 * 1024;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, get, set_audience, preview, send, pause, funnel_chart),
    components(schemas(CsvRejected)),
    modifiers(&OptionalPreviewBody)
)]
pub struct Document;

/// The preview's body may be left out: `#[utoipa::path]` marks a typed body required (and an
/// `Option` one nullable, which `null` is not).
struct OptionalPreviewBody;

impl utoipa::Modify for OptionalPreviewBody {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let body = doc
            .paths
            .paths
            .get_mut("/api/v1/campaigns/{id}/preview")
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut());
        if let Some(body) = body {
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list, list)
        .add(__path_get, get)
        .add(__path_set_audience, set_audience)
        .app_data(__path_set_audience, web::PayloadConfig::new(MAX_CSV_BYTES))
        .add(__path_preview, preview)
        .add(__path_send, send)
        .add(__path_pause, pause)
        .add(__path_funnel_chart, funnel_chart);
}

/// A campaign as the API answers it, with its progress and funnel.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Campaign)]
pub(super) struct CampaignView {
    // A value, so its keys stay in alphabetical order, as the answer always had them.
    #[schema(value_type = Audience)]
    audience: Value,
    #[schema(required = true)]
    automation: Option<Automation>,
    channel: Channel,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    created_at: String,
    /// The values the template uses.
    #[schema(value_type = Object)]
    data: Value,
    funnel: FunnelView,
    /// The funnel from the campaign's links, per channel.
    #[schema(inline)]
    funnel_by_channel: Vec<ChannelFunnelView>,
    id: CampaignId,
    #[schema(required = true, format = DateTime)]
    last_run_at: Option<String>,
    name: String,
    #[schema(required = true, format = DateTime)]
    next_run_at: Option<String>,
    program_id: ProgramId,
    #[schema(inline)]
    progress: ProgressView,
    #[schema(required = true, format = DateTime)]
    sent_at: Option<String>,
    status: CampaignStatus,
    #[schema(required = true)]
    template: Option<String>,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A campaign's messages by status, and why messages were skipped.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct ProgressView {
    delivered: i64,
    failed: i64,
    queued: i64,
    skipped: i64,
    /// Skipped messages by reason (`no_consent`, `no_address`, `card_voided`, ...).
    skipped_by_reason: BTreeMap<String, i64>,
}

impl ProgressView {
    fn new(p: Progress) -> ProgressView {
        ProgressView {
            delivered: p.delivered,
            failed: p.failed,
            queued: p.queued,
            skipped: p.skipped,
            skipped_by_reason: p.skipped_by_reason.into_iter().collect(),
        }
    }
}

/// A campaign's funnel. `sent` counts messages handed to the outbox (skipped ones are not
/// sent); `delivered` those the SMTP relay or SMS provider accepted; `clicked` visitors of its
/// links; `enrolled` members who joined through its links; `installed` and `redeemed` members
/// it brought who installed the card, and who redeemed a reward.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Funnel)]
struct FunnelView {
    clicked: i64,
    delivered: i64,
    enrolled: i64,
    installed: i64,
    redeemed: i64,
    sent: i64,
    skipped: i64,
}

impl FunnelView {
    fn new(f: Funnel) -> FunnelView {
        FunnelView {
            clicked: f.clicked,
            delivered: f.delivered,
            enrolled: f.enrolled,
            installed: f.installed,
            redeemed: f.redeemed,
            sent: f.sent,
            skipped: f.skipped,
        }
    }
}

/// The funnel of one channel of a campaign's links.
#[derive(Serialize, ToSchema)]
struct ChannelFunnelView {
    channel: String,
    clicked: i64,
    enrolled: i64,
    installed: i64,
    redeemed: i64,
}

impl ChannelFunnelView {
    fn new(f: ChannelFunnel) -> ChannelFunnelView {
        ChannelFunnelView {
            channel: f.channel,
            clicked: f.clicked,
            enrolled: f.enrolled,
            installed: f.installed,
            redeemed: f.redeemed,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct CampaignList {
    campaigns: Vec<CampaignView>,
}

/// How many members a list audience holds.
#[derive(Serialize, ToSchema)]
struct AudienceSet {
    members: usize,
}

/// A refused CSV file: every problem with its row; nothing was written.
#[derive(Serialize, ToSchema)]
pub(super) struct CsvRejected {
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

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    /// The member whose message the preview shows.
    #[schema(value_type = Option<MemberId>)]
    member_id: Option<String>,
}

/// What a campaign would do now.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct Preview {
    /// Members the audience holds now.
    audience: i64,
    /// What `member_id` would get; `null` without one.
    #[schema(required = true, inline)]
    sample: Option<Sample>,
    /// How many of them would be skipped (no address, no consent).
    would_skip: i64,
    would_send: i64,
}

/// The message one member would get, with the card link as it will look (the personal link
/// itself is made when the campaign is sent). The rendered parts are there when the campaign
/// sends messages and messaging is configured.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct Sample {
    channel: Channel,
    /// SMS: `gsm7` or `ucs2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    encoding: Option<&'static str>,
    /// Email: the HTML part.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    html: Option<String>,
    #[schema(inline)]
    member: SampleMember,
    /// SMS: how many segments the text takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    segments: Option<usize>,
    /// Email: the subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    subject: Option<String>,
    #[schema(required = true)]
    template: Option<String>,
    /// The text (email: the plain-text part).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    text: Option<String>,
    /// Why this member would be skipped, or `null`.
    #[schema(required = true)]
    would_skip: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct SampleMember {
    id: MemberId,
    name: String,
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

/// The campaign with its progress (messages by status) and its funnel.
pub(super) async fn full_view(state: &AppState, c: &Campaign) -> Result<CampaignView, ApiError> {
    let progress = state.store.campaign_progress(&c.id).await?;
    let funnel = state.store.campaign_funnel(&c.id).await?;
    let channels = state.store.channel_funnels(&c.id).await?;
    Ok(CampaignView {
        audience: serde_json::to_value(&c.audience)
            .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("audience: {e}")))?,
        automation: c.automation,
        channel: c.channel,
        created_at: rfc3339(c.created_at),
        data: c.data.clone(),
        funnel: FunnelView::new(funnel),
        funnel_by_channel: channels.into_iter().map(ChannelFunnelView::new).collect(),
        id: c.id.clone(),
        last_run_at: c.last_run_at.map(rfc3339),
        name: c.name.clone(),
        next_run_at: c.next_run_at.map(rfc3339),
        program_id: c.program_id.clone(),
        progress: ProgressView::new(progress),
        sent_at: c.sent_at.map(rfc3339),
        status: c.status,
        template: c.template.clone(),
        updated_at: rfc3339(c.updated_at),
    })
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
async fn set_audience(
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

pub(super) fn require_csv(req: &HttpRequest) -> Result<(), ApiError> {
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
pub(super) fn rejected(errors: Vec<RowError>) -> HttpResponse {
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

/// Preview a campaign
///
/// How many members it reaches now, how many of them would be skipped (no address, no
/// consent), and what one member (`member_id`, optional) would get. Sends nothing.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/preview",
    operation_id = "previewCampaign",
    tag = "campaigns",
    params(("id" = CampaignId, Path, description = "Campaign id (`cmp_` + 16 base32 characters).")),
    request_body(content = inline(PreviewBody)),
    responses(
        (status = 200, description = "The preview.", body = inline(Preview)),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`not_found`: no such campaign, or its id does not parse.", body = ErrorBody),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
    )
)]
async fn preview(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    // The body is optional; when there is one, it must be right.
    let body: PreviewBody = if body.iter().all(u8::is_ascii_whitespace) {
        PreviewBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidBody,
                format!("the request body is not valid: {e}"),
            )
        })?
    };
    let campaign = load::campaign(&state, &caller, &id).await?;
    let now = state.clock.now();
    let (audience, skipped) = state.store.audience_size(&campaign, now).await?;
    let member = match body.member_id {
        Some(m) => {
            let (_, member) = load::member(&state, &caller, &m).await?;
            if member.program_id != campaign.program_id {
                return Err(ApiError::not_found("member"));
            }
            Some(member)
        }
        None => None,
    };
    let sample = match member {
        Some(m) => Some(sample(&state, &campaign, &m).await?),
        None => None,
    };
    Ok(HttpResponse::Ok().json(Preview {
        audience,
        sample,
        would_skip: skipped,
        would_send: audience - skipped,
    }))
}

/// What `member` would get: the rendered message, with the card link as it will look (the
/// personal link itself is made when the campaign is sent).
async fn sample(state: &AppState, c: &Campaign, member: &Member) -> Result<Sample, ApiError> {
    let mut out = Sample {
        channel: c.channel,
        encoding: None,
        html: None,
        member: SampleMember {
            id: member.id.clone(),
            name: member.name.clone(),
        },
        segments: None,
        subject: None,
        template: c.template.clone(),
        text: None,
        would_skip: c.channel.messaging().and_then(|ch| skip_reason(member, ch)),
    };
    let (Some(channel), Some(template), Some(messaging)) =
        (c.channel.messaging(), &c.template, state.outbox.messaging())
    else {
        return Ok(out);
    };
    let program = state.store.program(&c.program_id).await?;
    let card_url = format!("{}/c/<personal link>", messaging.urls.base());
    let unsubscribe =
        (channel == MessageChannel::Email).then(|| messaging.unsubscribe_url(&member.id, channel));
    let ctx = MessageContext::new(member, &program, card_url, unsubscribe, &c.data);
    match channel {
        MessageChannel::Email => {
            let email = render_email(template, &ctx).map_err(ApiError::Unexpected)?;
            out.subject = Some(email.subject);
            out.text = Some(email.text);
            out.html = Some(email.html);
        }
        MessageChannel::Sms => {
            let text = render_sms(template, &ctx).map_err(ApiError::Unexpected)?;
            let size = sms_size(&text);
            out.segments = Some(size.segments);
            out.encoding = Some(size.encoding.as_str());
            out.text = Some(text);
        }
    }
    Ok(out)
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
