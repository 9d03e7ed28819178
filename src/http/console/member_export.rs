//! `GET /console/members/{id}/export`: everything passwright holds on one member, as one JSON
//! file, for a person who asks to see their data: the profile, the card, every points entry,
//! every scan, every message and the consent history. Owners and marketers only; each export
//! is in the audit log.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::members::{can_change, visible_member};
use super::page::SignedIn;
use super::ConsoleError;
use crate::clock::rfc3339;
use crate::state::AppState;
use crate::storage::AuditEntry;

/// Export a member's data
///
/// Owners and marketers: one JSON file with the member's profile and consent, the card (status,
/// balance, tier, download link), every points entry, every scan, every message sent and the
/// consent history, as a download. The export is in the audit log.
#[utoipa::path(
    get,
    path = "/console/members/{id}/export",
    operation_id = "getConsoleMemberExport",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The member's id (`mem_…`).")),
    responses(
        (status = 200, description = "The member's data (JSON), as a download.", body = String, content_type = "application/json"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff cannot export members' data.", body = String, content_type = "text/html"),
        (status = 404, description = "No such member.", body = String, content_type = "text/html"),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    if !can_change(&who) {
        return Err(ConsoleError::Forbidden(
            "Only owners and marketers can export a member's data.",
        ));
    }
    let (member, program) = visible_member(&state, &who, &id).await?;
    let mut ledger = Vec::new();
    let mut before = None;
    loop {
        let page = state.store.ledger(&member.id, before, 500).await?;
        ledger.extend(page.entries.iter().map(|e| {
            json!({
                "at": rfc3339(e.created_at),
                "kind": e.kind.as_str(),
                "amount": e.amount,
                "balance_after": e.balance_after,
                "reason": e.reason,
                "by": e.actor,
            })
        }));
        match page.next_before {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    let mut scans = Vec::new();
    let mut before = None;
    loop {
        let page = state
            .store
            .scans(None, Some(&member.id), before, 500)
            .await?;
        scans.extend(page.iter().map(|s| {
            json!({
                "at": rfc3339(s.created_at),
                "action": s.action.as_str(),
                "result": s.result(),
                "points": s.points,
                "staff": s.staff_name,
            })
        }));
        match page.last() {
            Some(last) if page.len() == 500 => before = Some(last.id),
            _ => break,
        }
    }
    let messages: Vec<_> = state
        .store
        .member_messages(&member.id, 10_000)
        .await?
        .iter()
        .map(|m| {
            json!({
                "at": rfc3339(m.created_at),
                "channel": m.channel.as_str(),
                "template": m.template,
                "status": m.status,
            })
        })
        .collect();
    let consent = state.store.consent_history(&member.id).await?;
    let body = json!({
        "exported_at": rfc3339(state.clock.now()),
        "program": { "id": program.id, "name": program.name, "organization": program.organization },
        "member": {
            "id": member.id,
            "name": member.name,
            "email": member.email.as_ref().map(|e| e.as_str()),
            "phone": member.phone.as_ref().map(|p| p.as_str()),
            "external_id": member.external_id,
            "consent": { "email": member.consent.email, "sms": member.consent.sms },
            "joined": rfc3339(member.created_at),
        },
        "card": {
            "status": member.status.as_str(),
            "balance": member.balance,
            "lifetime_points": member.lifetime_points,
            "tier": member.tier,
            "download": state.cards.download_url(&member),
        },
        "points": ledger,
        "scans": scans,
        "messages": messages,
        "consent_history": consent,
    });
    let now = state.clock.now();
    let audit = AuditEntry {
        actor: &who.user.actor(),
        action: "member.exported",
        program_id: Some(&program.id),
        subject: Some(&format!("member:{}", member.id)),
        before: None,
        after: None,
    };
    state.store.audit(&audit, now).await?;
    let text = serde_json::to_string_pretty(&body).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"member-{}.json\"", member.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
