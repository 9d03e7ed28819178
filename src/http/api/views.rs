//! JSON representations the API answers with. Kept apart from the domain types so the wire
//! format changes only on purpose.

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::Ref;
use utoipa::ToSchema;

use crate::cards::Cards;
use crate::clock::{from_micros, rfc3339};
use crate::domain::api_key::ApiKey;
use crate::domain::ids::{ProgramId, WebhookId};
use crate::domain::ledger::LedgerEntry;
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::domain::reward::Reward;
use crate::domain::scan::{Location, Scan};
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

pub fn location(l: &Location, program_name: &str) -> Value {
    json!({
        "id": l.id,
        "program_id": l.program_id,
        "program_name": program_name,
        "name": l.name,
        "address": l.address,
        "created_at": rfc3339(l.created_at),
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

pub fn reward(r: &Reward) -> Value {
    json!({
        "id": r.id,
        "program_id": r.program_id,
        "name": r.name,
        "cost": r.cost,
        "repeatable": r.repeatable,
        "active": r.active,
        "created_at": rfc3339(r.created_at),
    })
}

pub fn api_key(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "role": k.role,
        "program_id": k.program_id,
        "created_at": rfc3339(k.created_at),
        "revoked_at": k.revoked_at.map(rfc3339),
    })
}

/// An endpoint; its secret is never shown again after it is made or rotated.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    active: bool,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(required = true)]
    description: Option<String>,
    /// Why passwright switched the endpoint off (it answered 410 Gone); `null` otherwise.
    #[schema(required = true)]
    disabled_reason: Option<String>,
    #[schema(schema_with = event_selectors)]
    events: Vec<&'static str>,
    id: WebhookId,
    program_id: ProgramId,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    updated_at: String,
    url: String,
}

impl WebhookView {
    pub fn new(e: &WebhookEndpoint) -> WebhookView {
        WebhookView {
            active: e.active,
            created_at: rfc3339(e.created_at),
            description: e.description.clone(),
            disabled_reason: e.disabled_reason.clone(),
            events: e.events.names(),
            id: e.id.clone(),
            program_id: e.program_id.clone(),
            updated_at: rfc3339(e.updated_at),
            url: e.url.as_str().to_string(),
        }
    }
}

/// The `events` of an endpoint: names of `EventSelector`, a component
/// `docs/openapi/unconverted.json` still describes (the event body refers to it too).
pub fn event_selectors() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(Ref::from_schema_name("EventSelector"))
        .description(Some("`[\"*\"]` when the endpoint takes every event type."))
        .build()
}

/// One event sent to an endpoint and how its delivery stands. A delivery whose job was
/// purged (finished longer than the outbox retention ago) shows as `done`.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryView {
    /// Attempts so far; `null` once a finished job was purged (`outbox.retention_hours`).
    #[schema(required = true)]
    attempts: Option<i64>,
    /// When the event happened. RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    /// The event's `data`, as sent.
    #[schema(value_type = Object)]
    data: Value,
    #[schema(schema_with = event_id)]
    event_id: String,
    #[schema(required = true, format = DateTime)]
    finished_at: Option<String>,
    /// Why the last attempt failed (`HTTP 500`, `no answer within 10000 ms`, `gave up after 15 attempts: ...`), or why it was not sent.
    #[schema(required = true)]
    last_error: Option<String>,
    /// When a pending delivery is tried next.
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    #[schema(schema_with = delivery_state)]
    state: String,
    #[serde(rename = "type")]
    #[schema(schema_with = event_type)]
    event_type: String,
}

impl DeliveryView {
    pub fn new(d: &DeliveryRecord) -> DeliveryView {
        let at = |t: Option<i64>| t.map(|t| rfc3339(from_micros(t)));
        let state = d.state.as_deref().unwrap_or("done");
        DeliveryView {
            attempts: d.attempts,
            created_at: rfc3339(from_micros(d.created_at)),
            data: serde_json::from_str::<Value>(&d.data).unwrap_or(Value::Null),
            event_id: d.event_id.clone(),
            finished_at: at(d.finished_at),
            last_error: d.last_error.clone(),
            next_attempt_at: if state == "pending" {
                at(d.run_at)
            } else {
                None
            },
            state: state.to_string(),
            event_type: d.event_type.clone(),
        }
    }
}

/// `EventId` and `EventType` are components `docs/openapi/unconverted.json` still describes
/// (the event body refers to them too).
fn event_id() -> Ref {
    Ref::from_schema_name("EventId")
}

fn event_type() -> Ref {
    Ref::from_schema_name("EventType")
}

fn delivery_state() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["pending", "running", "done", "failed"]))
        .description(Some(
            "The delivery's outbox job: `pending` (due, or waiting for a retry), `running`, `done` (delivered, or not sent because the endpoint was switched off or deleted: see `last_error`), `failed` (410 Gone, or every attempt failed).",
        ))
        .build()
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
