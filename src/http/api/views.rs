//! JSON representations the API answers with. Kept apart from the domain types so the wire
//! format changes only on purpose.

use serde_json::{json, Value};

use crate::cards::Cards;
use crate::clock::{from_micros, rfc3339};
use crate::domain::ledger::LedgerEntry;
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::domain::scan::Scan;
use crate::domain::webhook::WebhookEndpoint;
use crate::storage::DeliveryRecord;

pub fn program(p: &Program) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "organization": p.organization,
        "pass_type_id": p.pass_type_id,
        "team_id": p.team_id,
        "design": p.design,
        "tiers": p.tiers,
        "earn_rules": p.earn_rules,
        "design_version": p.design_version,
        "expiry": p.expiry,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
    })
}

pub fn member(m: &Member, program: &Program, cards: &Cards) -> Value {
    let next_tier = program
        .tiers
        .next_after(m.lifetime_points)
        .map(|t| json!({ "name": t.name, "points_needed": t.threshold - m.lifetime_points }));
    json!({
        "id": m.id,
        "program_id": m.program_id,
        "external_id": m.external_id,
        "name": m.name,
        "email": m.email,
        "phone": m.phone,
        "consent": m.consent,
        "status": m.status,
        "balance": m.balance,
        "lifetime_points": m.lifetime_points,
        "tier": m.tier,
        "next_tier": next_tier,
        "version": m.version,
        "serial_number": m.serial,
        "pass_url": cards.download_url(m),
        "expiring": expiring(m),
        "created_at": rfc3339(m.created_at),
        "updated_at": rfc3339(m.updated_at),
    })
}

/// What staff see after a scan: no contact details.
pub fn member_summary(m: &Member, program: &Program) -> Value {
    let next_tier = program
        .tiers
        .next_after(m.lifetime_points)
        .map(|t| json!({ "name": t.name, "points_needed": t.threshold - m.lifetime_points }));
    json!({
        "id": m.id,
        "name": m.name,
        "tier": m.tier,
        "balance": m.balance,
        "lifetime_points": m.lifetime_points,
        "status": m.status,
        "next_tier": next_tier,
        "expiring": expiring(m),
    })
}

fn expiring(m: &Member) -> Value {
    m.expiring.map_or(
        Value::Null,
        |e| json!({"points": e.points, "at": rfc3339(e.at)}),
    )
}

pub fn scan(s: &Scan) -> Value {
    json!({
        "id": s.id,
        "program_id": s.program_id,
        "member_id": s.member_id,
        "staff_key_id": s.staff_key_id,
        "staff_name": s.staff_name,
        "location_id": s.location_id,
        "action": s.action,
        "result": s.result(),
        "reason": s.rejected,
        "amount": s.amount_minor.map(|m| format!("{}.{:02}", m / 100, m % 100)),
        "points": s.points,
        "reward_id": s.reward_id,
        "ledger_entry_id": s.ledger_entry_id,
        "created_at": rfc3339(s.created_at),
    })
}

pub fn entry(e: &LedgerEntry) -> Value {
    json!({
        "id": e.id,
        "member_id": e.member_id,
        "kind": e.kind,
        "amount": e.amount,
        "balance_after": e.balance_after,
        "reason": e.reason,
        "actor": e.actor,
        "idempotency_key": e.idempotency_key,
        "created_at": rfc3339(e.created_at),
    })
}

/// An endpoint without its secret (shown once, when made or rotated).
pub fn webhook(e: &WebhookEndpoint) -> Value {
    json!({
        "id": e.id,
        "program_id": e.program_id,
        "url": e.url.as_str(),
        "events": e.events.names(),
        "active": e.active,
        "description": e.description,
        "disabled_reason": e.disabled_reason,
        "created_at": rfc3339(e.created_at),
        "updated_at": rfc3339(e.updated_at),
    })
}

/// One event sent to an endpoint and how its delivery stands. A delivery whose job was
/// purged (finished longer than the outbox retention ago) shows as `done`.
pub fn delivery(d: &DeliveryRecord) -> Value {
    let at = |t: Option<i64>| t.map(|t| rfc3339(from_micros(t)));
    let state = d.state.as_deref().unwrap_or("done");
    json!({
        "event_id": d.event_id,
        "type": d.event_type,
        "created_at": rfc3339(from_micros(d.created_at)),
        "state": state,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "next_attempt_at": if state == "pending" { at(d.run_at) } else { None },
        "finished_at": at(d.finished_at),
        "data": serde_json::from_str::<Value>(&d.data).unwrap_or(Value::Null),
    })
}

pub fn campaign(c: &crate::domain::campaign::Campaign) -> Value {
    json!({
        "id": c.id,
        "program_id": c.program_id,
        "name": c.name,
        "channel": c.channel,
        "template": c.template,
        "data": c.data,
        "audience": c.audience,
        "automation": c.automation,
        "status": c.status,
        "next_run_at": c.next_run_at.map(rfc3339),
        "last_run_at": c.last_run_at.map(rfc3339),
        "sent_at": c.sent_at.map(rfc3339),
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
    })
}
