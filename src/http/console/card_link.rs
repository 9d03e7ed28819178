//! `POST /console/members/{id}/card-link`: the member's card link sent again, by email or SMS
//! (a new phone, a deleted card, "can you send it to me?"). The message goes through the
//! outbox like any other and is listed under "Messages sent"; a member who cannot receive it
//! (no address, no consent, a cancelled card) is told apart before anything is queued.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::see_other;
use super::member_page::{cannot_send, member_page, Said};
use super::members::{can_change, visible_member};
use super::page::SignedIn;
use super::ConsoleError;
use crate::domain::distribution::{MessageChannel, MessagePurpose};
use crate::state::AppState;
use crate::storage::{AuditEntry, NewMessage};

#[derive(Deserialize)]
pub struct CardLinkForm {
    #[serde(default)]
    csrf: String,
    /// The form's one-time value: a double tap sends once.
    #[serde(default)]
    nonce: String,
    /// `email` or `sms`.
    #[serde(default)]
    channel: String,
}

/// Send a member's card link again
///
/// Owners and marketers: the member's personal card link (the page that adds the card to
/// Apple Wallet or Google Wallet, or shows it in the browser) by email or SMS, through the
/// outbox; the message is listed on the member's page with how it went. The form's one-time
/// `nonce` makes sending it twice send once. The sending is in the audit log.
#[utoipa::path(
    post,
    path = "/console/members/{id}/card-link",
    operation_id = "postConsoleMemberCardLink",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The member's id (`mem_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `nonce`, `channel` (`email` or `sms`).", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB), or no such channel: a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Queued: back to the member's page."),
        (status = 403, description = "Staff cannot send messages, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such member.", body = String, content_type = "text/html"),
        (status = 409, description = "No address, no consent for that channel, or a cancelled card (the page again, saying which).", body = String, content_type = "text/html"),
    )
)]
pub async fn send(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<CardLinkForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    if !can_change(&who) {
        return Err(ConsoleError::Forbidden(
            "Only owners and marketers can send messages to members.",
        ));
    }
    let (member, program) = visible_member(&state, &who, &id).await?;
    let channel = match form.channel.as_str() {
        "email" => MessageChannel::Email,
        "sms" => MessageChannel::Sms,
        _ => return Err(ConsoleError::BadForm),
    };
    let nonce = form.nonce.trim();
    if nonce.is_empty() || nonce.len() > 64 {
        return Err(ConsoleError::StaleForm);
    }
    if let Some(why) = cannot_send(&member, channel) {
        return member_page(
            &state,
            &who,
            &member,
            &program,
            StatusCode::CONFLICT,
            Said {
                link_error: Some(why),
                ..Said::default()
            },
        )
        .await;
    }
    let now = state.clock.now();
    let message = NewMessage {
        program_id: program.id.clone(),
        member_id: member.id.clone(),
        campaign_id: None,
        channel,
        // The member's own card: sent whatever they chose about offers.
        purpose: MessagePurpose::Service,
        template: "card_invite".into(),
        data: json!({}),
        // The outbox makes (or finds) the member's card link for this channel.
        link_code: None,
        dedup: format!("card_link:{}:{}:{nonce}", channel.as_str(), member.id),
    };
    if let Some(queued) = state.store.queue_message(&message, now).await? {
        let audit = AuditEntry {
            actor: &who.user.actor(),
            action: "member.card_link_sent",
            program_id: Some(&program.id),
            subject: Some(&format!("member:{}", member.id)),
            before: None,
            after: Some(json!({ "channel": channel.as_str(), "message": queued }).to_string()),
        };
        state.store.audit(&audit, now).await?;
    }
    Ok(see_other(&format!(
        "/console/members/{}?notice=link_{}",
        member.id,
        channel.as_str()
    )))
}
