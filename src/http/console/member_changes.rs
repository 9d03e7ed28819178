//! Changing a member from the console (`members` shows them): adjusting the points with a
//! reason, setting the tier by hand (or handing it back to the points), and re-issuing or
//! cancelling the card. Owners and marketers only; each change is
//! in the audit log, and the card on the member's phone follows through the outbox.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::see_other;
use super::member_page::{member_page, Said};
use super::members::{can_change, visible_member};
use super::page::SignedIn;
use super::ConsoleError;
use crate::domain::ledger::{fingerprint, EntryKind, IdempotencyKey, PointsChange};
use crate::domain::points::Points;
use crate::domain::text;
use crate::http::to_the_end;
use crate::state::AppState;
use crate::storage::{AuditEntry, CardAction, Conflict, StoreError, TierChoice};

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
            Said {
                adjust: Some((&form.direction, &form.points, &form.reason, why)),
                ..Said::default()
            },
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

/// Re-issue or cancel a member's card, or erase the member
///
/// Owners and marketers, with the confirmation box ticked. `reissue`: a new barcode and
/// download link (the phones holding the card get them like any update; the old barcode is
/// refused from now on). `void`: the card is cancelled for good. `erase`: the person asked to
/// be forgotten: name, email, phone, member number and consent are removed and the card is
/// cancelled. All are in the audit log (an erasure without what was erased).
#[utoipa::path(
    post,
    path = "/console/members/{id}/card",
    operation_id = "postConsoleMemberCard",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The member's id (`mem_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `action` (`reissue`, `void` or `erase`), `confirm` (any value: the box was ticked).", content = String),
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
        "reissue" => (
            Some(CardAction::Reissue),
            "member.card_reissued",
            "reissued",
        ),
        "void" => (Some(CardAction::Void), "member.card_voided", "voided"),
        "erase" => (None, "member.erased", "erased"),
        _ => return Err(ConsoleError::BadForm),
    };
    if form.confirm.is_none() {
        return member_page(
            &state,
            &who,
            &member,
            &program,
            StatusCode::UNPROCESSABLE_ENTITY,
            Said {
                card_error: Some("Tick the box to confirm first: nothing was changed."),
                ..Said::default()
            },
        )
        .await;
    }
    let now = state.clock.now();
    let Some(action) = action else {
        let erased = state.store.erase_member(&member.id, now).await?;
        // The log says who erased whom and when, never what was erased.
        let audit = AuditEntry {
            actor: &who.user.actor(),
            action: word,
            program_id: Some(&program.id),
            subject: Some(&format!("member:{}", member.id)),
            before: Some(json!({ "status": member.status.as_str() }).to_string()),
            after: Some(
                json!({ "status": erased.status.as_str(), "name": erased.name }).to_string(),
            ),
        };
        state.store.audit(&audit, now).await?;
        return Ok(see_other(&format!(
            "/console/members/{}?notice={done}",
            member.id
        )));
    };
    let changed = match state.store.change_card(&member.id, action, now).await {
        Ok(m) => m,
        Err(StoreError::Conflict(Conflict::MemberVoided)) => {
            return member_page(
                &state,
                &who,
                &member,
                &program,
                StatusCode::CONFLICT,
                Said {
                    card_error: Some(
                        "This card is cancelled already; a cancelled card cannot be re-issued.",
                    ),
                    ..Said::default()
                },
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

#[derive(Deserialize)]
pub struct TierForm {
    #[serde(default)]
    csrf: String,
    /// `points`, or `=` and the name of one of the program's tiers.
    #[serde(default)]
    tier: String,
}

/// Change a member's tier
///
/// Owners and marketers: sets the tier by hand (it then stays, whatever the points do, until
/// it is given back to the points), or gives it back to the points (the tier the lifetime
/// points reach). The change is in the audit log, the card updates through the outbox, and
/// webhooks that take `member.tier_changed` hear of it.
#[utoipa::path(
    post,
    path = "/console/members/{id}/tier",
    operation_id = "postConsoleMemberTier",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The member's id (`mem_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `tier` (`points`, or `=` and a tier's name).", content = String),
    responses(
        (status = 400, description = "The form could not be read (not a form, or over 16 KiB): a page saying so.", body = String, content_type = "text/html"),
        (status = 303, description = "Changed: back to the member's page."),
        (status = 403, description = "Staff cannot change tiers, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such member.", body = String, content_type = "text/html"),
        (status = 409, description = "The card was cancelled (the page again, saying so).", body = String, content_type = "text/html"),
        (status = 422, description = "Not one of the program's tiers (the page again, saying so).", body = String, content_type = "text/html"),
    )
)]
pub async fn tier(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<TierForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    if !can_change(&who) {
        return Err(ConsoleError::Forbidden(
            "Only owners and marketers can change a member's tier.",
        ));
    }
    let (member, program) = visible_member(&state, &who, &id).await?;
    let refused = |status, why: &'static str| {
        member_page(
            &state,
            &who,
            &member,
            &program,
            status,
            Said {
                tier_error: Some(why),
                ..Said::default()
            },
        )
    };
    let choice = match form.tier.as_str() {
        "points" => TierChoice::ByPoints,
        other => match other
            .strip_prefix('=')
            .and_then(|name| program.tiers.by_name(name))
        {
            Some(t) => TierChoice::Held(Some(t.name.clone())),
            None => {
                return refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "That tier is not one of this program's (were the tiers just changed?). Pick one from the list.",
                )
                .await
            }
        },
    };
    let now = state.clock.now();
    let (changed, previous) = match state
        .store
        .set_member_tier(&member.id, &choice, &program.tiers, now)
        .await
    {
        Ok(done) => done,
        Err(StoreError::Conflict(Conflict::MemberVoided)) => {
            return refused(
                StatusCode::CONFLICT,
                "This card was cancelled; its tier cannot change.",
            )
            .await
        }
        Err(e) => return Err(e.into()),
    };
    let audit = AuditEntry {
        actor: &who.user.actor(),
        action: "member.tier_changed",
        program_id: Some(&program.id),
        subject: Some(&format!("member:{}", member.id)),
        before: Some(json!({ "tier": previous, "set_by_hand": member.tier_held }).to_string()),
        after: Some(json!({ "tier": changed.tier, "set_by_hand": changed.tier_held }).to_string()),
    };
    state.store.audit(&audit, now).await?;
    Ok(see_other(&format!(
        "/console/members/{}?notice=tier",
        member.id
    )))
}
