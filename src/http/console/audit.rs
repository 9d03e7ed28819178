//! `/console/audit`, for owners: every console action (who, what, when, before and after),
//! newest first, a page at a time, and the whole log as CSV.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::render;
use super::page::SignedIn;
use super::ConsoleError;
use crate::clock::rfc3339;
use crate::state::AppState;
use crate::storage::AuditRecord;

/// Entries on one page.
const PAGE: i64 = 100;

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// Who acted, as a person reads it: a console user's name and address, else the actor as
/// recorded (`api_key:…`, `cli`).
fn actor_name(actor: &str, names: &HashMap<String, String>) -> String {
    actor
        .strip_prefix("user:")
        .and_then(|id| names.get(id))
        .cloned()
        .unwrap_or_else(|| actor.to_string())
}

/// What an action was, in words; the recorded name of one without words here.
fn action_words(action: &str) -> &str {
    match action {
        "session.sign_in" => "Signed in",
        "session.sign_out" => "Signed out",
        "session.sign_out_everywhere" => "Signed out on every device",
        "user.add" => "Added a person",
        "user.invitation_sent" => "Sent an invitation again",
        "user.invitation_accepted" => "Accepted the invitation",
        "user.reset_requested" => "Asked for a password link",
        "user.reset_link_made" => "Made a password link (command line)",
        "user.password_reset" => "Set a new password",
        "user.disable" => "Switched a person off",
        "user.enable" => "Switched a person on",
        "program.created" => "Started a program",
        "program.design_saved" => "Changed a card design",
        "program.sample_sent" => "Sent a sample card",
        "program.earn_rules_saved" => "Changed how points are earned",
        "program.tiers_saved" => "Changed the tiers",
        "program.expiry_saved" => "Changed when points expire",
        "reward.added" => "Added a reward",
        "reward.changed" => "Changed a reward",
        "member.points_adjusted" => "Adjusted points",
        "member.tier_changed" => "Changed a tier",
        "member.card_link_sent" => "Sent a card link",
        "member.card_reissued" => "Re-issued a card",
        "member.card_voided" => "Cancelled a card",
        "member.exported" => "Downloaded a member's data",
        "member.erased" => "Erased a member",
        "members.imported" => "Imported members",
        other => other,
    }
}

/// `text` as a spreadsheet cell that stays text: one starting with `=`, `+`, `-`, `@` or a
/// control character would be read as a formula by Excel or LibreOffice (a person's name
/// typed as `=HYPERLINK(…)`), so it gets a leading `'`.
pub(super) fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

async fn names(state: &AppState) -> Result<HashMap<String, String>, ConsoleError> {
    Ok(state
        .store
        .users(None)
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), format!("{} <{}>", u.name, u.email)))
        .collect())
}

/// Audit log
///
/// Owners only: the newest 100 console actions before `before` (an entry id; the page's
/// "Older" link sets it), with who acted, what they did, to what, and the record before and
/// after.
#[utoipa::path(
    get,
    path = "/console/audit",
    operation_id = "getConsoleAudit",
    tag = "console",
    security(("consoleSession" = [])),
    params(("before" = Option<i64>, Query, description = "Show entries older than this id.")),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Not an owner.", body = String, content_type = "text/html"),
    )
)]
pub async fn page(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require_owner()?;
    let entries = state.store.audit_log(query.before, PAGE).await?;
    let names = names(&state).await?;
    let programs: HashMap<String, String> = state
        .store
        .programs(None)
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    let older = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let mut context = who.context("audit");
    context["entries"] = json!(entries
        .iter()
        .map(|e| json!({
            "id": e.id,
            "at": rfc3339(e.at),
            "at_text": e.at.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            )).unwrap_or_default(),
            "actor": actor_name(&e.actor, &names),
            "action": e.action,
            "action_words": action_words(&e.action),
            "program": e.program_id.as_ref().map(|p| programs.get(p).unwrap_or(p)),
            "subject": e.subject.as_deref().map(|s| actor_name(s, &names)),
            "before": e.before,
            "after": e.after,
        }))
        .collect::<Vec<_>>());
    context["older"] = json!(older);
    context["newest"] = json!(query.before.is_none());
    Ok(render(StatusCode::OK, "console/audit.html", &context))
}

/// Export the audit log
///
/// Owners only: every entry, newest first, as CSV (`id,at,actor,actor_name,action,program_id,
/// subject,before,after`; `before` and `after` are JSON). A cell a spreadsheet would take for
/// a formula starts with `'`.
#[utoipa::path(
    get,
    path = "/console/audit.csv",
    operation_id = "getConsoleAuditCsv",
    tag = "console",
    security(("consoleSession" = [])),
    responses(
        (status = 200, description = "The log (CSV), as a download.", body = String, content_type = "text/csv"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Not an owner.", body = String, content_type = "text/html"),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    who: SignedIn,
) -> Result<HttpResponse, ConsoleError> {
    who.require_owner()?;
    let names = names(&state).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, e: &AuditRecord| {
        out.write_record([
            e.id.to_string().as_str(),
            &rfc3339(e.at),
            &e.actor,
            &cell(&actor_name(&e.actor, &names)),
            &e.action,
            e.program_id.as_deref().unwrap_or(""),
            &cell(e.subject.as_deref().unwrap_or("")),
            &cell(e.before.as_deref().unwrap_or("")),
            &cell(e.after.as_deref().unwrap_or("")),
        ])
    };
    out.write_record([
        "id",
        "at",
        "actor",
        "actor_name",
        "action",
        "program_id",
        "subject",
        "before",
        "after",
    ])
    .map_err(anyhow::Error::from)?;
    let mut before = None;
    loop {
        let entries = state.store.audit_log(before, 1000).await?;
        for e in &entries {
            write(&mut out, e).map_err(anyhow::Error::from)?;
        }
        match entries.last() {
            Some(last) if entries.len() == 1000 => before = Some(last.id),
            _ => break,
        }
    }
    let body = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let day = state.clock.now().date();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"passwright-audit-{day}.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_that_look_like_formulas_stay_text() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::cell("-1+2"), "'-1+2");
        assert_eq!(
            super::cell("Ada <ada@example.com>"),
            "Ada <ada@example.com>"
        );
        assert_eq!(super::cell(""), "");
    }
}
