//! `/console/members`: a program's members, found by name, email, phone, external id or
//! member id, filtered by tier and status, a page at a time; and one member's page with the
//! balance, tier, contact and consent, the card's link, the points ledger and the scans, where
//! owners and marketers adjust the points with a reason (audited, and the card updates through
//! the outbox like every points change).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::query_value;
use super::page::{render, see_other, SignedIn};
use super::ConsoleError;
use crate::clock::rfc3339;
use crate::domain::api_key::Role;
use crate::domain::ids::{random_base32, MemberId, ProgramId};
use crate::domain::ledger::{fingerprint, EntryKind, IdempotencyKey, PointsChange};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::points::Points;
use crate::domain::program::Program;
use crate::domain::text;
use crate::http::api::members::{decode_cursor, encode_cursor};
use crate::http::to_the_end;
use crate::state::AppState;
use crate::storage::{AuditEntry, CardAction, Conflict, MemberQuery, StoreError};

/// Members on one page of the list.
const PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    program: Option<String>,
    q: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    after: Option<String>,
}

#[derive(Deserialize)]
pub struct MemberQueryParams {
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    csrf: String,
    /// `reissue` or `void`.
    #[serde(default)]
    action: String,
    /// The "I understand" box.
    #[serde(default)]
    confirm: Option<String>,
}

#[derive(Deserialize)]
pub struct AdjustForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nonce: String,
    /// `add` or `remove`.
    #[serde(default)]
    direction: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

fn day(t: time::OffsetDateTime) -> String {
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
/// A program's members, 50 at a time in enrollment order: search (`q`: the start of a name or
/// of a word in it, of an email address or external id; a phone number with its country code
/// or nationally; a member id; case-insensitive) and filters (tier, status). Every role; a
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
    let Some(program) = program else {
        context["program"] = Value::Null;
        return Ok(render(StatusCode::OK, "console/members.html", &context));
    };
    let after = match query.after.as_deref().map(decode_cursor) {
        Some(Ok(a)) => Some(a),
        // A link from an old page: start again from the top.
        Some(Err(_)) | None => None,
    };
    let q = MemberQuery {
        status: status.and_then(|s| MemberStatus::parse(s).ok()),
        external_id: None,
        search: (!search.is_empty()).then(|| search.chars().take(100).collect()),
        tier: tier.map(str::to_string),
        after,
        limit: PAGE,
    };
    let page = state.store.members(&program.id, &q).await?;
    let next = page.next.as_ref().map(|n| {
        format!(
            "/console/members?program={}&q={}&tier={}&status={}&after={}",
            program.id,
            query_value(search),
            query_value(tier.unwrap_or("")),
            query_value(status.unwrap_or("")),
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
    Ok(render(StatusCode::OK, "console/members.html", &context))
}

/// The member of `id` if the person may see them; another program's is "not found".
async fn visible_member(
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

fn can_change(who: &SignedIn) -> bool {
    matches!(who.user.role, Role::Admin | Role::Marketer)
}

async fn member_page(
    state: &AppState,
    who: &SignedIn,
    member: &Member,
    program: &Program,
    status: StatusCode,
    form: Option<(&AdjustForm, String)>,
    notice: Option<&str>,
    card_error: Option<&str>,
) -> Result<HttpResponse, ConsoleError> {
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
        "apple": match devices {
            0 => "Not added".to_string(),
            1 => "On 1 device".to_string(),
            n => format!("On {n} devices"),
        },
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
    context["can_change"] = json!(can_change(who) && member.status != MemberStatus::Voided);
    let (direction, points, reason, error) = match form {
        Some((f, error)) => (
            f.direction.as_str(),
            f.points.as_str(),
            f.reason.as_str(),
            Some(error),
        ),
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
        _ => None,
    };
    member_page(
        &state,
        &who,
        &member,
        &program,
        StatusCode::OK,
        None,
        notice,
        None,
    )
    .await
}

/// Adjust a member's points
///
/// Owners and marketers: adds (or with a minus, takes away) points with a reason, which the
/// ledger keeps with who made it; the change is in the audit log and the card updates through
/// the outbox. The form's one-time `nonce` makes sending it twice (a double tap, a reload)
/// change the points once. The balance cannot go below zero.
#[utoipa::path(
    post,
    path = "/console/members/{id}/points",
    operation_id = "postConsoleMemberPoints",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The member's id (`mem_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `nonce`, `direction` (`add`, or `remove` to take away), `points` (a whole number, not 0), `reason`.", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Adjusted: back to the member's page."),
        (status = 403, description = "Staff cannot adjust points, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such member.", body = String, content_type = "text/html"),
        (status = 409, description = "The change would take the balance below zero, or the card was cancelled (the form again, saying so).", body = String, content_type = "text/html"),
        (status = 422, description = "No number, zero, or no reason (the form again, saying what).", body = String, content_type = "text/html"),
    )
)]
pub async fn adjust(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<AdjustForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    if !can_change(&who) {
        return Err(ConsoleError::Forbidden(
            "Only owners and marketers can change points. At the counter, the scanner records purchases and rewards.",
        ));
    }
    let (member, program) = visible_member(&state, &who, &id).await?;
    let again = |status, why: String| {
        member_page(
            &state,
            &who,
            &member,
            &program,
            status,
            Some((&form, why)),
            None,
            None,
        )
    };
    let typed: String = form
        .points
        .replace('−', "-")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let sign = if form.direction == "remove" { -1 } else { 1 };
    let amount = match typed
        .trim_start_matches('+')
        .parse::<i64>()
        .map(|n| n * sign)
    {
        Ok(0) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Type a number of points other than 0.".into(),
            )
            .await
        }
        Ok(n) => n,
        Err(_) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Type a whole number of points, like 50.".into(),
            )
            .await
        }
    };
    let Ok(points) = Points::new(amount) else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is more points than a card can hold.".into(),
        )
        .await;
    };
    let Ok(reason) = text("reason", &form.reason, 200) else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Say why (up to 200 characters): the member's history shows it.".into(),
        )
        .await;
    };
    let key = IdempotencyKey::parse(&format!("console-{}", form.nonce.trim()))
        .map_err(|_| ConsoleError::StaleForm)?;
    let change = PointsChange {
        kind: EntryKind::Adjust,
        amount: points,
        fingerprint: fingerprint(&[
            "adjust",
            member.id.as_str(),
            &amount.to_string(),
            &reason,
            "",
        ]),
        reason,
        actor: who.user.actor(),
        idempotency_key: Some(key),
        allow_negative: false,
    };
    let (store, now) = (state.store.clone(), state.clock.now());
    let (pid, tiers, of, to_apply) = (
        program.id.clone(),
        program.tiers.clone(),
        member.clone(),
        change.clone(),
    );
    let applied = to_the_end(&state.work, async move {
        store.apply_points(&pid, &of, &tiers, &to_apply, now).await
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let outcome = match applied {
        Ok(o) => o,
        Err(StoreError::Conflict(Conflict::InsufficientPoints { balance })) => {
            let why = format!("That would take the balance below zero: it is {balance}.");
            return again(StatusCode::CONFLICT, why).await;
        }
        Err(StoreError::Conflict(Conflict::MemberVoided)) => {
            return again(
                StatusCode::CONFLICT,
                "This card was cancelled; its points cannot change.".into(),
            )
            .await
        }
        Err(StoreError::Conflict(Conflict::IdempotencyKeyReused)) => {
            return Err(ConsoleError::StaleForm)
        }
        Err(e) => return Err(e.into()),
    };
    if !outcome.replayed {
        let audit = AuditEntry {
            actor: &who.user.actor(),
            action: "member.points_adjusted",
            program_id: Some(&program.id),
            subject: Some(&format!("member:{}", member.id)),
            before: Some(json!({ "balance": member.balance, "tier": member.tier }).to_string()),
            after: Some(
                json!({
                    "balance": outcome.member.balance,
                    "tier": outcome.member.tier,
                    "points": amount,
                    "reason": change.reason,
                })
                .to_string(),
            ),
        };
        state.store.audit(&audit, now).await?;
    }
    Ok(see_other(&format!(
        "/console/members/{}?notice=adjusted",
        member.id
    )))
}

/// Re-issue or cancel a member's card
///
/// Owners and marketers, with the confirmation box ticked. `reissue`: a new barcode and
/// download link (the phones holding the card get them like any update; the old barcode is
/// refused from now on). `void`: the card is cancelled for good. Both are in the audit log.
#[utoipa::path(
    post,
    path = "/console/members/{id}/card",
    operation_id = "postConsoleMemberCard",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The member's id (`mem_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `action` (`reissue` or `void`), `confirm` (any value: the box was ticked).", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Done: back to the member's page."),
        (status = 403, description = "Staff cannot change cards, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such member.", body = String, content_type = "text/html"),
        (status = 409, description = "The card is cancelled already (the page again, saying so).", body = String, content_type = "text/html"),
        (status = 422, description = "The box was not ticked, or no such action (the page again, saying so).", body = String, content_type = "text/html"),
    )
)]
pub async fn card(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<CardForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    if !can_change(&who) {
        return Err(ConsoleError::Forbidden(
            "Only owners and marketers can re-issue or cancel cards.",
        ));
    }
    let (member, program) = visible_member(&state, &who, &id).await?;
    let (action, word, done) = match form.action.as_str() {
        "reissue" => (CardAction::Reissue, "member.card_reissued", "reissued"),
        "void" => (CardAction::Void, "member.card_voided", "voided"),
        _ => return Err(ConsoleError::BadForm),
    };
    if form.confirm.is_none() {
        return member_page(
            &state,
            &who,
            &member,
            &program,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            Some("Tick the box to confirm first: nothing was changed."),
        )
        .await;
    }
    let now = state.clock.now();
    let changed = match state.store.change_card(&member.id, action, now).await {
        Ok(m) => m,
        Err(StoreError::Conflict(Conflict::MemberVoided)) => {
            return member_page(
                &state,
                &who,
                &member,
                &program,
                StatusCode::CONFLICT,
                None,
                None,
                Some("This card is cancelled already; a cancelled card cannot be re-issued."),
            )
            .await
        }
        Err(e) => return Err(e.into()),
    };
    let audit = AuditEntry {
        actor: &who.user.actor(),
        action: word,
        program_id: Some(&program.id),
        subject: Some(&format!("member:{}", member.id)),
        before: Some(json!({ "status": member.status.as_str(), "card_generation": member.card_generation }).to_string()),
        after: Some(json!({ "status": changed.status.as_str(), "card_generation": changed.card_generation }).to_string()),
    };
    state.store.audit(&audit, now).await?;
    Ok(see_other(&format!(
        "/console/members/{}?notice={done}",
        member.id
    )))
}
