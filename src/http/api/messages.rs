//! What a member was sent and agreed to: their consent (current flags and the full history of
//! changes) and their email and SMS messages with how each ended.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{load, MANAGE};
use crate::clock::rfc3339;
use crate::domain::distribution::{ConsentSource, MessageChannel, MessagePurpose};
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi::responses::KeyRefusals;
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::storage::{ConsentEvent, MessageRecord};

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(consent, messages))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_consent, consent)
        .add(__path_messages, messages);
}

// Fields in alphabetical order, the order the answers always had. `deny_unknown_fields`
// only writes `additionalProperties: false` into the schemas, as the document had them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ConsentHistory)]
struct ConsentView {
    #[schema(inline)]
    current: CurrentConsent,
    history: Vec<ConsentEventView>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CurrentConsent {
    email: bool,
    sms: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ConsentEvent)]
struct ConsentEventView {
    #[schema(format = DateTime)]
    at: String,
    #[schema(value_type = MessageChannel)]
    channel: String,
    granted: bool,
    #[schema(value_type = ConsentSource)]
    source: String,
}

impl ConsentEventView {
    fn new(e: ConsentEvent) -> ConsentEventView {
        ConsentEventView {
            at: e.at,
            channel: e.channel,
            granted: e.granted,
            source: e.source,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Message)]
struct MessageView {
    #[schema(required = true)]
    campaign_id: Option<CampaignId>,
    channel: MessageChannel,
    #[schema(format = DateTime)]
    created_at: String,
    id: i64,
    /// `service` (the member's own card link: sent without consent to offers) or
    /// `marketing` (needs consent for the channel).
    purpose: MessagePurpose,
    /// Why it was skipped or failed.
    #[schema(required = true)]
    reason: Option<String>,
    #[schema(schema_with = message_status)]
    status: String,
    #[schema(examples("points_expiring"))]
    template: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// How a message ended, as `MessageRecord::status` holds it.
fn message_status() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["queued", "delivered", "skipped", "failed"]))
        .into()
}

impl MessageView {
    fn new(m: &MessageRecord) -> MessageView {
        MessageView {
            campaign_id: m.campaign_id.clone(),
            channel: m.channel,
            created_at: rfc3339(m.created_at),
            id: m.id,
            purpose: m.purpose,
            reason: m.reason.clone(),
            status: m.status.clone(),
            template: m.template.clone(),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MessageList)]
struct MessageListView {
    messages: Vec<MessageView>,
}

/// Member consent and its history
///
/// The member's current consent to email and SMS, and every change to it, oldest first:
/// when, which channel, granted or withdrawn, and where the change came from (`enrollment`,
/// `landing_page`, `api`, `import`, `unsubscribe_link` for the unsubscribe page,
/// `list_unsubscribe` for a mail client's one-click unsubscribe).
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/consent",
    operation_id = "getMemberConsent",
    tag = "members",
    params(("id" = MemberId, Path, description = "The member's id.")),
    responses(
        (status = 200, description = "Member consent and its history.", body = ConsentView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (_, member) = load::member(&state, &caller, &id).await?;
    let history = state.store.consent_history(&member.id).await?;
    Ok(HttpResponse::Ok().json(ConsentView {
        current: CurrentConsent {
            email: member.consent.email,
            sms: member.consent.sms,
        },
        history: history.into_iter().map(ConsentEventView::new).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// At most this many messages (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Messages sent to a member
///
/// The member's email and SMS messages, newest first, with how each ended: `queued`
/// (waiting in the outbox, or retrying), `delivered` (accepted by the SMTP relay or SMS
/// provider, or written to the development folder), `skipped` (not sent; `reason`:
/// `no_consent`, `unsubscribed`, `no_address`, `card_voided`) or `failed` (`reason`: the
/// relay's or provider's refusal, `too_long` for an SMS over `sms.max_segments`, or the last
/// error once the attempts were used up). Unknown query parameters answer 422
/// `invalid_query`.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/messages",
    operation_id = "listMemberMessages",
    tag = "members",
    params(("id" = MemberId, Path, description = "The member's id."), MessagesQuery),
    responses(
        (status = 200, description = "Messages sent to a member.", body = MessageListView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 422, description = "`invalid_query`: a parameter of the wrong type, or an unknown parameter; `validation_failed`: `limit` out of range.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn messages(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (_, member) = load::member(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let list = state.store.member_messages(&member.id, limit).await?;
    Ok(HttpResponse::Ok().json(MessageListView {
        messages: list.iter().map(MessageView::new).collect(),
    }))
}
