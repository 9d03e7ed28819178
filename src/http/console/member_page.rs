//! One member's page (`/console/members/{id}`): the balance and tier, contact and consent,
//! the devices and Google card holding the card, the points ledger, scans and messages sent,
//! with the forms `member_changes` and `card_link` answer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::render;
use super::members::{can_change, day, visible_member};
use super::page::SignedIn;
use super::ConsoleError;
use crate::clock::rfc3339;
use crate::domain::distribution::{MessageChannel, MessagePurpose};
use crate::domain::ids::random_base32;
use crate::domain::ledger::EntryKind;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Program;
use crate::state::AppState;
use crate::storage::skip_reason;

#[derive(Deserialize)]
pub struct MemberQueryParams {
    notice: Option<String>,
}

/// Why the card link cannot go by `channel`, in words; `None` when it can. It is the
/// member's own card, a service message: consent to offers does not matter.
pub(super) fn cannot_send(
    member: &crate::domain::member::Member,
    channel: MessageChannel,
) -> Option<&'static str> {
    let reason = skip_reason(member, channel, MessagePurpose::Service)?;
    Some(match (reason, channel) {
        ("card_voided", _) => "This card was cancelled; there is no card link to send.",
        ("no_address", MessageChannel::Email) => "There is no email address for this member.",
        ("no_address", MessageChannel::Sms) => "There is no phone number for this member.",
        // A service message asks for no consent: nothing else stops it.
        _ => "This card link cannot be sent.",
    })
}

/// What a member's page says besides the member: a notice, or why a form was refused (the
/// points form shown again as it was typed).
#[derive(Default)]
pub(super) struct Said<'a> {
    pub notice: Option<&'a str>,
    /// The points form as typed, and why it was refused.
    pub adjust: Option<(&'a str, &'a str, &'a str, String)>,
    pub card_error: Option<&'a str>,
    pub tier_error: Option<&'a str>,
    pub link_error: Option<&'a str>,
}

pub(super) async fn member_page(
    state: &AppState,
    who: &SignedIn,
    member: &Member,
    program: &Program,
    status: StatusCode,
    said: Said<'_>,
) -> Result<HttpResponse, ConsoleError> {
    let Said {
        notice,
        adjust: form,
        card_error,
        tier_error,
        link_error,
    } = said;
    let ledger = state.store.ledger(&member.id, None, 20).await?;
    let devices = state.store.apple_devices(member.serial.as_str()).await?;
    let google = state.store.google_object(&member.id).await?;
    let google = match &google {
        None => "Not added".to_string(),
        Some(g) if g.deleted_at.is_some() => "Removed by the member".to_string(),
        Some(g) => match g.saved_at {
            Some(at) => format!("Saved on {}", day(crate::clock::from_micros(at))),
            None => "Link opened, not saved yet".to_string(),
        },
    };
    let scans = state.store.scans(None, Some(&member.id), None, 10).await?;
    let consent = state.store.consent_history(&member.id).await?;
    let messages = state.store.member_messages(&member.id, 10).await?;
    let mut context = who.context("members");
    context["notice"] = json!(notice);
    context["program"] = json!({ "id": program.id, "name": program.name });
    context["member"] = json!({
        "id": member.id,
        "name": member.name,
        "email": member.email.as_ref().map(|e| e.as_str()),
        "phone": member.phone.as_ref().map(|p| p.as_str()),
        "external_id": member.external_id,
        "balance": member.balance,
        "lifetime_points": member.lifetime_points,
        "tier": member.tier,
        "status": member.status.as_str(),
        "voided": member.status == MemberStatus::Voided,
        "consent_email": member.consent.email,
        "consent_sms": member.consent.sms,
        "joined": day(member.created_at),
        "card_url": state.cards.download_url(member),
        "apple": match devices.len() {
            0 => "Not added".to_string(),
            1 => "On 1 device".to_string(),
            n => format!("On {n} devices"),
        },
        "devices": devices
            .iter()
            .map(|(device, added)| json!({
                // The end of the device's library id: enough to tell two devices apart.
                "device": device.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<String>(),
                "added": day(*added),
            }))
            .collect::<Vec<_>>(),
        "tier_held": member.tier_held,
        "tier_by_points": program
            .tiers
            .tier_for(member.lifetime_points)
            .map(|t| t.name.clone()),
        "google": google,
    });
    context["ledger"] = json!(ledger
        .entries
        .iter()
        .map(|e| json!({
            "at": rfc3339(e.created_at),
            "day": day(e.created_at),
            "kind": match e.kind {
                EntryKind::Earn => "Earned",
                EntryKind::Redeem => "Redeemed",
                EntryKind::Adjust => "Adjusted",
                EntryKind::Expire => "Expired",
            },
            "amount": e.amount,
            "balance_after": e.balance_after,
            "reason": e.reason,
        }))
        .collect::<Vec<_>>());
    context["scans"] = json!(scans
        .iter()
        .map(|s| json!({
            "day": day(s.created_at),
            "action": s.action.as_str(),
            "result": s.result(),
            "points": s.points,
            "staff": s.staff_name,
        }))
        .collect::<Vec<_>>());
    context["consent"] = json!(consent
        .iter()
        .rev()
        .map(|c| json!({
            "at": c.at,
            "day": c.at.get(..10).unwrap_or(&c.at),
            "channel": if c.channel == "sms" { "SMS" } else { "Email" },
            "granted": c.granted,
            "source": c.source,
        }))
        .collect::<Vec<_>>());
    context["messages"] = json!(messages
        .iter()
        .map(|m| json!({
            "day": day(m.created_at),
            "channel": m.channel.as_str(),
            "template": m.template,
            "service": m.purpose == MessagePurpose::Service,
            "status": m.status,
            "reason": m.reason,
        }))
        .collect::<Vec<_>>());
    context["can_export"] = json!(can_change(who));
    context["can_change"] = json!(can_change(who) && member.status != MemberStatus::Voided);
    let (direction, points, reason, error) = match form {
        Some((direction, points, reason, error)) => (direction, points, reason, Some(error)),
        None => ("add", "", "", None),
    };
    context["form"] = json!({
        "direction": direction,
        "points": points,
        "reason": reason,
        "nonce": random_base32(state.random.as_ref(), 20),
    });
    context["error"] = json!(error);
    context["card_error"] = json!(card_error);
    context["tier_error"] = json!(tier_error);
    context["link_error"] = json!(link_error);
    context["link"] = json!({
        "email": cannot_send(member, MessageChannel::Email),
        "sms": cannot_send(member, MessageChannel::Sms),
    });
    context["tiers"] = json!(program.tiers.names());
    Ok(render(status, "console/member.html", &context))
}

/// A member
///
/// One member: balance, tier, contact, consent, the card's link, the latest points entries
/// and scans; for owners and marketers, the form to adjust the points. Another program's
/// member, for a program-scoped account, is not found.
#[utoipa::path(
    get,
    path = "/console/members/{id}",
    operation_id = "getConsoleMember",
    tag = "console",
    security(("consoleSession" = [])),
    params(
        ("id" = String, Path, description = "The member's id (`mem_…`)."),
        ("notice" = Option<String>, Query, description = "`adjusted`: says the points changed."),
    ),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 404, description = "No such member (or one of a program the account cannot see).", body = String, content_type = "text/html"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    query: web::Query<MemberQueryParams>,
) -> Result<HttpResponse, ConsoleError> {
    let (member, program) = visible_member(&state, &who, &id).await?;
    let notice = match query.notice.as_deref() {
        Some("adjusted") => {
            Some("Points adjusted. The card on the member's phone updates in a moment.")
        }
        Some("reissued") => Some(
            "Card re-issued: the new barcode reaches the member's phone in a moment, and the old one no longer works.",
        ),
        Some("voided") => Some("Card cancelled. Its barcode no longer works."),
        Some("erased") => Some("Erased: the name, email, phone and member number are gone, and the card is cancelled."),
        Some("tier") => Some("Tier changed. The card on the member's phone updates in a moment."),
        Some("link_email") => Some("The card link is on its way by email. \"Messages sent\" below shows when it is delivered."),
        Some("link_sms") => Some("The card link is on its way by SMS. \"Messages sent\" below shows when it is delivered."),
        _ => None,
    };
    member_page(
        &state,
        &who,
        &member,
        &program,
        StatusCode::OK,
        Said {
            notice,
            ..Said::default()
        },
    )
    .await
}
