//! Previewing a campaign: how many members it reaches now, how many it would skip, and the
//! message one member would get. Sends nothing.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::campaign::Campaign;
use crate::domain::distribution::{Channel, MessageChannel};
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::member::Member;
use crate::domain::sms::sms_size;
use crate::http::api::{load, MANAGE};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::{Forbidden, InternalError, Unauthorized, Unprocessable};
use crate::messaging::render::{render_email, render_sms, MessageContext};
use crate::state::AppState;
use crate::storage::skip_reason;

/// The preview's body may be left out: `#[utoipa::path]` marks a typed body required (and an
/// `Option` one nullable, which `null` is not).
pub(super) struct OptionalPreviewBody;

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
pub(super) async fn preview(
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
        would_skip: c.channel.messaging().and_then(|ch| {
            skip_reason(
                member,
                ch,
                crate::domain::distribution::MessagePurpose::Marketing,
            )
        }),
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
