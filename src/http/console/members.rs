//! `/console/members`: a program's members, found by name, email, phone, external id or
//! member id, filtered by tier and status, a page at a time; and one member's page with the
//! balance, tier, contact and consent, where the card is, the points ledger and the scans,
//! with the forms `member_changes` answers (adjust the points, re-issue or cancel the card).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::query_value;
use super::html::render;
use super::page::SignedIn;
use super::ConsoleError;
use crate::clock::rfc3339;
use crate::domain::api_key::Role;
use crate::domain::ids::{random_base32, MemberId, ProgramId};
use crate::domain::ledger::EntryKind;
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

#[derive(Deserialize)]
pub struct MemberQueryParams {
    notice: Option<String>,
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
    context["tiers"] = json!(program
        .tiers
        .as_slice()
        .iter()
        .map(|t| &t.name)
        .collect::<Vec<_>>());
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

/// What a member's page says besides the member: a notice, or why a form was refused (the
/// points form shown again as it was typed).
#[derive(Default)]
pub(super) struct Said<'a> {
    pub notice: Option<&'a str>,
    /// The points form as typed, and why it was refused.
    pub adjust: Option<(&'a str, &'a str, &'a str, String)>,
    pub card_error: Option<&'a str>,
    pub tier_error: Option<&'a str>,
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
    context["tiers"] = json!(program
        .tiers
        .as_slice()
        .iter()
        .map(|t| &t.name)
        .collect::<Vec<_>>());
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
