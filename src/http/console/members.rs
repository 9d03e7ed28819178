//! `/console/members`: a program's members, found by name, email, phone, external id, card
//! code or member id, filtered by tier, status, wallet, last visit and balance, sorted, a
//! page at a time; and what the member pages share (who may see and change a member).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::query_value;
use super::html::render;
use super::page::SignedIn;
use super::ConsoleError;
use crate::domain::api_key::Role;
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Program;
use crate::http::api::members::{decode_cursor, encode_cursor};
use crate::state::AppState;
use crate::storage::{MemberQuery, MemberSort};

/// Members on one page of the list.
const PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    program: Option<String>,
    q: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    /// `yes` or `no`.
    apple: Option<String>,
    google: Option<String>,
    points_min: Option<String>,
    points_max: Option<String>,
    /// `30d`, `90d` (visited within), `not30d`, `not90d` (not visited within).
    visit: Option<String>,
    /// `joined` (the default), `newest`, `name` or `points`.
    sort: Option<String>,
    after: Option<String>,
}

fn yes_no(v: Option<&str>) -> Option<bool> {
    match v {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

/// A whole number typed into a filter; anything else filters nothing (and is said so).
fn bound(v: Option<&str>) -> Result<Option<i64>, ()> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ()),
    }
}

pub(super) fn day(t: time::OffsetDateTime) -> String {
    t.date().to_string()
}

fn member_row(m: &Member) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "email": m.email.as_ref().map(|e| e.as_str()),
        "phone": m.phone.as_ref().map(|p| p.as_str()),
        "balance": m.balance,
        "tier": m.tier,
        "status": m.status.as_str(),
        "joined": day(m.created_at),
    })
}

/// The programs the person may see, and the one asked for (or the first).
async fn chosen_program(
    state: &AppState,
    who: &SignedIn,
    asked: Option<&str>,
) -> Result<(Vec<Program>, Option<Program>), ConsoleError> {
    let programs = state.store.programs(who.user.program_id.as_ref()).await?;
    let chosen = match asked.filter(|a| !a.is_empty()) {
        Some(id) => {
            let id = ProgramId::parse(id).map_err(|_| ConsoleError::NotFound)?;
            if !who.user.can_access(&id) {
                return Err(ConsoleError::Forbidden(
                    "Your account is limited to another program.",
                ));
            }
            Some(
                programs
                    .iter()
                    .find(|p| p.id == id)
                    .cloned()
                    .ok_or(ConsoleError::NotFound)?,
            )
        }
        None => programs.first().cloned(),
    };
    Ok((programs, chosen))
}

/// Members
///
/// A program's members, 50 at a time in the order chosen (`sort`): search (`q`: the start of a name or
/// of a word in it, of an email address or external id; a phone number with its country code
/// or nationally; a member id; case-insensitive) and filters (tier, status, where the card is,
/// last visit, balance). Every role; a
/// program-scoped account sees its program only (another's answers 403).
#[utoipa::path(
    get,
    path = "/console/members",
    operation_id = "getConsoleMembers",
    tag = "console",
    security(("consoleSession" = [])),
    params(
        ("program" = Option<String>, Query, description = "The program (default: the first the account can see)."),
        ("q" = Option<String>, Query, description = "What to search for."),
        ("tier" = Option<String>, Query, description = "Only this tier."),
        ("status" = Option<String>, Query, description = "`active` or `voided`."),
        ("apple" = Option<String>, Query, description = "`yes`: the card is on an Apple Wallet device; `no`: it is not."),
        ("google" = Option<String>, Query, description = "`yes`: the card is saved in Google Wallet (and not removed); `no`: it is not."),
        ("visit" = Option<String>, Query, description = "`30d`, `90d`: scanned within so many days; `not30d`, `not90d`: not."),
        ("points_min" = Option<String>, Query, description = "A balance of at least this (a whole number; anything else is said and left out)."),
        ("points_max" = Option<String>, Query, description = "A balance of at most this."),
        ("sort" = Option<String>, Query, description = "`joined` (the default: the order they joined in), `newest`, `name` (A to Z) or `points` (the highest balance first)."),
        ("after" = Option<String>, Query, description = "The \"Next page\" link's position."),
    ),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "The account is limited to another program.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let (programs, program) = chosen_program(&state, &who, query.program.as_deref()).await?;
    let mut context = who.context("members");
    let search = query.q.as_deref().map(str::trim).unwrap_or("");
    let tier = query.tier.as_deref().filter(|t| !t.is_empty());
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    context["programs"] = json!(programs
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name }))
        .collect::<Vec<_>>());
    context["q"] = json!(search);
    context["tier"] = json!(tier.unwrap_or(""));
    context["status"] = json!(status.unwrap_or(""));
    context["apple"] = json!(query.apple.as_deref().unwrap_or(""));
    context["google"] = json!(query.google.as_deref().unwrap_or(""));
    context["points_min"] = json!(query.points_min.as_deref().unwrap_or(""));
    context["points_max"] = json!(query.points_max.as_deref().unwrap_or(""));
    context["visit"] = json!(query.visit.as_deref().unwrap_or(""));
    context["error"] = Value::Null;
    context["can_import"] = json!(who.can_design());
    context["filters_open"] = json!([
        tier,
        status,
        query.apple.as_deref(),
        query.google.as_deref(),
        query.visit.as_deref(),
        query.points_min.as_deref(),
        query.points_max.as_deref(),
    ]
    .iter()
    .any(|f| f.is_some_and(|f| !f.trim().is_empty())));
    let Some(program) = program else {
        context["program"] = Value::Null;
        return Ok(render(StatusCode::OK, "console/members.html", &context));
    };
    let sort = query
        .sort
        .as_deref()
        .and_then(MemberSort::parse)
        .unwrap_or_default();
    context["sort"] = json!(sort.as_str());
    let after = match query.after.as_deref().map(|a| decode_cursor(a, sort)) {
        Some(Ok(a)) => Some(a),
        // A link from an old page: start again from the top.
        Some(Err(_)) | None => None,
    };
    let now = state.clock.now();
    let (visited_since, not_visited_since) = match query.visit.as_deref() {
        Some("30d") => (Some(now - time::Duration::days(30)), None),
        Some("90d") => (Some(now - time::Duration::days(90)), None),
        Some("not30d") => (None, Some(now - time::Duration::days(30))),
        Some("not90d") => (None, Some(now - time::Duration::days(90))),
        _ => (None, None),
    };
    let points_min = bound(query.points_min.as_deref());
    let points_max = bound(query.points_max.as_deref());
    if points_min.is_err() || points_max.is_err() {
        context["error"] = json!("Points are whole numbers, like 100. That filter was left out.");
    }
    let q = MemberQuery {
        status: status.and_then(|s| MemberStatus::parse(s).ok()),
        external_id: None,
        search: (!search.is_empty()).then(|| search.chars().take(100).collect()),
        tier: tier.map(str::to_string),
        apple: yes_no(query.apple.as_deref()),
        google: yes_no(query.google.as_deref()),
        points_min: points_min.unwrap_or(None),
        points_max: points_max.unwrap_or(None),
        visited_since,
        not_visited_since,
        sort,
        after,
        limit: PAGE,
    };
    let page = state.store.members(&program.id, &q).await?;
    let filters = format!(
        "q={}&tier={}&status={}&apple={}&google={}&points_min={}&points_max={}&visit={}",
        query_value(search),
        query_value(tier.unwrap_or("")),
        query_value(status.unwrap_or("")),
        query_value(query.apple.as_deref().unwrap_or("")),
        query_value(query.google.as_deref().unwrap_or("")),
        query_value(query.points_min.as_deref().unwrap_or("")),
        query_value(query.points_max.as_deref().unwrap_or("")),
        query_value(query.visit.as_deref().unwrap_or("")),
    );
    let next = page.next.as_ref().map(|n| {
        format!(
            "/console/members?program={}&{filters}&sort={}&after={}",
            program.id,
            sort.as_str(),
            encode_cursor(n)
        )
    });
    context["program"] = json!({ "id": program.id, "name": program.name });
    context["tiers"] = json!(program.tiers.names());
    context["members"] = json!(page.members.iter().map(member_row).collect::<Vec<_>>());
    context["next"] = json!(next);
    context["first_page"] = json!(query.after.is_none());
    context["filtered"] = json!(filters.split('&').any(|f| !f.ends_with('=')));
    Ok(render(StatusCode::OK, "console/members.html", &context))
}

/// The member of `id` if the person may see them; another program's is "not found".
pub(super) async fn visible_member(
    state: &AppState,
    who: &SignedIn,
    id: &str,
) -> Result<(Member, Program), ConsoleError> {
    let id = MemberId::parse(id).map_err(|_| ConsoleError::NotFound)?;
    let member = state.store.member(&id).await?;
    if !who.user.can_access(&member.program_id) {
        return Err(ConsoleError::NotFound);
    }
    let program = state.store.program(&member.program_id).await?;
    Ok((member, program))
}

pub(super) fn can_change(who: &SignedIn) -> bool {
    matches!(who.user.role, Role::Admin | Role::Marketer)
}
