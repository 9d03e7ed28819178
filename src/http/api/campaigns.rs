//! Campaigns: create, list, read (with progress and funnel), set a list audience from CSV,
//! preview, send (or switch an automation on), pause.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{load, resource, views, MANAGE};
use crate::domain::campaign::{Audience, Campaign, CampaignInput};
use crate::domain::distribution::MessageChannel;
use crate::domain::ids::MemberId;
use crate::domain::import::RowError;
use crate::domain::member::Member;
use crate::domain::sms::sms_size;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::http::error_code::ErrorCode;
use crate::messaging::render::{render_email, render_sms, MessageContext};
use crate::reports::charts::funnel;
use crate::state::AppState;
use crate::storage::skip_reason;

/// Largest CSV body accepted (an audience list, a member import).
pub(super) const MAX_CSV_BYTES: usize = 32 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs/{id}/campaigns")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(resource("/campaigns/{id}").route(web::get().to(get)))
    .service(
        resource("/campaigns/{id}/audience")
            .app_data(web::PayloadConfig::new(MAX_CSV_BYTES))
            .route(web::put().to(set_audience)),
    )
    .service(resource("/campaigns/{id}/preview").route(web::post().to(preview)))
    .service(resource("/campaigns/{id}/send").route(web::post().to(send)))
    .service(resource("/campaigns/{id}/pause").route(web::post().to(pause)))
    .service(resource("/campaigns/{id}/funnel.svg").route(web::get().to(funnel_chart)));
}

/// The campaign's funnel as an SVG chart, for the dashboard.
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

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let mut out = Vec::new();
    for c in state.store.campaigns(&program.id).await? {
        out.push(full_view(&state, &c).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "campaigns": out })))
}

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
pub(super) async fn full_view(state: &AppState, c: &Campaign) -> Result<Value, ApiError> {
    let progress = state.store.campaign_progress(&c.id).await?;
    let funnel = state.store.campaign_funnel(&c.id).await?;
    let channels = state.store.channel_funnels(&c.id).await?;
    let mut v = views::campaign(c);
    v["progress"] = json!({
        "queued": progress.queued,
        "delivered": progress.delivered,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "skipped_by_reason": progress.skipped_by_reason.iter()
            .map(|(r, n)| (r.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    v["funnel"] = json!(funnel);
    v["funnel_by_channel"] = json!(channels);
    Ok(v)
}

/// A list audience from CSV: one column, `external_id` or `email`, naming members of the
/// program. Every unknown one is reported by row, and then nothing changes.
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
    Ok(HttpResponse::Ok().json(json!({ "members": ids.len() })))
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
    HttpResponse::UnprocessableEntity().json(json!({
        "error": {
            "code": ErrorCode::CsvRejected,
            "message": format!("{} problem(s) in the file; nothing was written", errors.len()),
            "rows": errors,
        }
    }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    member_id: Option<String>,
}

/// How many members the campaign reaches now, how many of them it would skip, and the
/// message one of them (or the member named) would get.
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
    Ok(HttpResponse::Ok().json(json!({
        "audience": audience,
        "would_skip": skipped,
        "would_send": audience - skipped,
        "sample": sample,
    })))
}

/// What `member` would get: the rendered message, with the card link as it will look (the
/// personal link itself is made when the campaign is sent).
async fn sample(state: &AppState, c: &Campaign, member: &Member) -> Result<Value, ApiError> {
    let mut out = json!({
        "member": {"id": member.id, "name": member.name},
        "channel": c.channel,
        "template": c.template,
        "would_skip": c.channel.messaging().and_then(|ch| skip_reason(member, ch)),
    });
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
            out["subject"] = json!(email.subject);
            out["text"] = json!(email.text);
            out["html"] = json!(email.html);
        }
        MessageChannel::Sms => {
            let text = render_sms(template, &ctx).map_err(ApiError::Unexpected)?;
            let size = sms_size(&text);
            out["segments"] = json!(size.segments);
            out["encoding"] = json!(size.encoding.as_str());
            out["text"] = json!(text);
        }
    }
    Ok(out)
}

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
