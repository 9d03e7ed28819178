//! JSON representations the API answers with. Kept apart from the domain types so the wire
//! format changes only on purpose.

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::Ref;
use utoipa::ToSchema;

use crate::cards::Cards;
use crate::clock::{from_micros, rfc3339};
use crate::domain::apple_ids::{PassTypeId, SerialNumber, TeamId};
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::expiry::ExpiryPolicy;
use crate::domain::ids::{ApiKeyId, EventId, LocationId, MemberId, ProgramId, RewardId, WebhookId};
use crate::domain::ledger::{EntryKind, LedgerEntry};
use crate::domain::member::{Consent, Member, MemberStatus};
use crate::domain::program::{Design, EarnRules, Program, Tier, Tiers};
use crate::domain::scan::{Scan, ScanAction};
use crate::domain::webhook::{EventSelector, EventType, WebhookEndpoint};
use crate::storage::DeliveryRecord;

/// A program as the API answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Program)]
pub struct ProgramView {
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    design: Design,
    /// Bumps whenever something that changes every card changes (design, tiers, images,
    /// names, earn rules).
    design_version: i64,
    earn_rules: EarnRules,
    /// `null` when points never expire.
    #[schema(required = true)]
    expiry: Option<ExpiryPolicy>,
    id: ProgramId,
    name: String,
    organization: String,
    #[schema(value_type = String, example = "pass.com.example.loyalty")]
    pass_type_id: PassTypeId,
    #[schema(value_type = String, pattern = "^[A-Z0-9]{10}$")]
    team_id: TeamId,
    #[schema(value_type = Vec<Tier>)]
    tiers: Tiers,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    updated_at: String,
}

impl ProgramView {
    pub fn new(p: &Program) -> ProgramView {
        ProgramView {
            created_at: rfc3339(p.created_at),
            design: p.design.clone(),
            design_version: p.design_version,
            earn_rules: p.earn_rules.clone(),
            expiry: p.expiry,
            id: p.id.clone(),
            name: p.name.clone(),
            organization: p.organization.clone(),
            pass_type_id: p.pass_type_id.clone(),
            team_id: p.team_id.clone(),
            tiers: p.tiers.clone(),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// A member as the API answers it.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Member)]
pub struct MemberView {
    /// Points; the sum of the member's ledger entries. Negative only after an adjustment with
    /// `allow_negative`.
    balance: i64,
    consent: Consent,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    /// The domain is lower-cased.
    #[schema(required = true)]
    email: Option<EmailAddress>,
    #[schema(required = true)]
    expiring: Option<ExpiringView>,
    /// Your own id for this person (e.g. from a CRM); unique within the program.
    #[schema(required = true)]
    external_id: Option<String>,
    id: MemberId,
    /// Points from earn and adjust entries, never below zero; decides the tier.
    lifetime_points: i64,
    name: String,
    /// The next tier above the member's lifetime points, or `null` at the top.
    #[schema(required = true)]
    next_tier: Option<NextTier>,
    /// The public download link of the card (`GET /passes/{token}.pkpass`); dead once the
    /// card is voided.
    #[schema(format = "uri")]
    pass_url: String,
    #[schema(required = true)]
    phone: Option<PhoneNumber>,
    program_id: ProgramId,
    /// The pass's serial number; never changes.
    #[schema(value_type = String)]
    serial_number: SerialNumber,
    status: MemberStatus,
    /// Name of the tier the lifetime points reach.
    #[schema(required = true)]
    tier: Option<String>,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    updated_at: String,
    /// Bumps on every change a card holder could see.
    version: i64,
}

impl MemberView {
    pub fn new(m: &Member, program: &Program, cards: &Cards) -> MemberView {
        MemberView {
            balance: m.balance,
            consent: m.consent,
            created_at: rfc3339(m.created_at),
            email: m.email.clone(),
            expiring: ExpiringView::of(m),
            external_id: m.external_id.clone(),
            id: m.id.clone(),
            lifetime_points: m.lifetime_points,
            name: m.name.clone(),
            next_tier: NextTier::of(m, program),
            pass_url: cards.download_url(m),
            phone: m.phone.clone(),
            program_id: m.program_id.clone(),
            serial_number: m.serial.clone(),
            status: m.status,
            tier: m.tier.clone(),
            updated_at: rfc3339(m.updated_at),
            version: m.version,
        }
    }
}

/// The next tier above a member's lifetime points.
#[derive(Serialize, ToSchema)]
pub struct NextTier {
    name: String,
    /// Lifetime points still missing.
    points_needed: i64,
}

impl NextTier {
    fn of(m: &Member, program: &Program) -> Option<NextTier> {
        program
            .tiers
            .next_after(m.lifetime_points)
            .map(|t| NextTier {
                name: t.name.clone(),
                points_needed: t.threshold - m.lifetime_points,
            })
    }
}

/// Points about to expire, while a reminder is shown.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Expiring)]
pub struct ExpiringView {
    #[schema(format = DateTime)]
    at: String,
    points: i64,
}

impl ExpiringView {
    fn of(m: &Member) -> Option<ExpiringView> {
        m.expiring.map(|e| ExpiringView {
            at: rfc3339(e.at),
            points: e.points,
        })
    }
}

/// What staff see after a scan: no contact details.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
pub struct MemberSummary {
    balance: i64,
    #[schema(required = true)]
    expiring: Option<ExpiringView>,
    id: MemberId,
    lifetime_points: i64,
    name: String,
    #[schema(required = true)]
    next_tier: Option<NextTier>,
    status: MemberStatus,
    #[schema(required = true)]
    tier: Option<String>,
}

impl MemberSummary {
    pub fn new(m: &Member, program: &Program) -> MemberSummary {
        MemberSummary {
            balance: m.balance,
            expiring: ExpiringView::of(m),
            id: m.id.clone(),
            lifetime_points: m.lifetime_points,
            name: m.name.clone(),
            next_tier: NextTier::of(m, program),
            status: m.status,
            tier: m.tier.clone(),
        }
    }
}

/// One scan at the counter, accepted or rejected.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Scan)]
pub struct ScanView {
    action: ScanAction,
    /// Purchase amount.
    #[schema(required = true)]
    amount: Option<String>,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    created_at: String,
    id: i64,
    #[schema(required = true)]
    ledger_entry_id: Option<i64>,
    #[schema(required = true)]
    location_id: Option<LocationId>,
    #[schema(required = true)]
    member_id: Option<MemberId>,
    /// Points the scan moved (negative for a redemption).
    points: i64,
    #[schema(required = true)]
    program_id: Option<ProgramId>,
    /// A `RejectReason` when rejected.
    #[schema(required = true)]
    reason: Option<String>,
    #[schema(pattern = "^(accepted|rejected)$")]
    result: &'static str,
    #[schema(required = true)]
    reward_id: Option<RewardId>,
    staff_key_id: ApiKeyId,
    /// The scanning key's name when it scanned.
    staff_name: String,
}

impl ScanView {
    pub fn new(s: &Scan) -> ScanView {
        ScanView {
            action: s.action,
            amount: s
                .amount_minor
                .map(|m| format!("{}.{:02}", m / 100, m % 100)),
            created_at: rfc3339(s.created_at),
            id: s.id,
            ledger_entry_id: s.ledger_entry_id,
            location_id: s.location_id.clone(),
            member_id: s.member_id.clone(),
            points: s.points,
            program_id: s.program_id.clone(),
            reason: s.rejected.clone(),
            result: s.result(),
            reward_id: s.reward_id.clone(),
            staff_key_id: s.staff_key_id.clone(),
            staff_name: s.staff_name.clone(),
        }
    }
}

/// One change of a member's points.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = LedgerEntry)]
pub struct EntryView {
    /// Who caused it: `api_key:<key id>`, `system`, or a CLI user.
    actor: String,
    /// Signed points.
    amount: i64,
    balance_after: i64,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    created_at: String,
    /// Increasing; pass as `before` to page.
    id: i64,
    #[schema(required = true)]
    idempotency_key: Option<String>,
    kind: EntryKind,
    member_id: MemberId,
    reason: String,
}

impl EntryView {
    pub fn new(e: &LedgerEntry) -> EntryView {
        EntryView {
            actor: e.actor.clone(),
            amount: e.amount,
            balance_after: e.balance_after,
            created_at: rfc3339(e.created_at),
            id: e.id,
            idempotency_key: e.idempotency_key.clone(),
            kind: e.kind,
            member_id: e.member_id.clone(),
            reason: e.reason.clone(),
        }
    }
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

/// The `events` of an endpoint: `EventSelector`s.
pub fn event_selectors() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(Ref::from_schema_name(EventSelector::name()))
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

/// Event ids and types travel as the strings they were stored as.
fn event_id() -> Ref {
    Ref::from_schema_name(EventId::name())
}

fn event_type() -> Ref {
    Ref::from_schema_name(EventType::name())
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
