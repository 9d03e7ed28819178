//! What a change tells webhook endpoints: which events it makes and what each carries.
//! Decided here; `storage` writes them, to the endpoints that take them, in the change's
//! transaction.
//!
//! Payloads are typed. Their fields are declared in alphabetical order because that is the
//! order the stored JSON has always had (the keys of a `serde_json` object are sorted), so an
//! endpoint receives the same bytes it did.

use serde::Serialize;
use serde_json::Value;

use super::api_key::ApiKey;
use super::ids::{LocationId, MemberId, RewardId};
use super::ledger::{EntryKind, LedgerEntry};
use super::member::Member;
use super::program::TierMove;
use super::scan::{RejectReason, ScanAction};
use super::webhook::EventType;
use crate::clock::rfc3339;
use time::OffsetDateTime;

/// One event a change makes: its type and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventType,
    pub data: Value,
}

impl Event {
    fn new(kind: EventType, data: impl Serialize) -> Event {
        Event {
            kind,
            // Structs of strings and numbers: serialising them cannot fail.
            data: serde_json::to_value(data).unwrap_or(Value::Null),
        }
    }
}

/// The member as events describe them: who (our id and the marketer's) and where they stand.
#[derive(Debug, Serialize)]
pub struct MemberData<'a> {
    balance: i64,
    external_id: Option<&'a str>,
    id: &'a MemberId,
    lifetime_points: i64,
    tier: Option<&'a str>,
}

impl<'a> MemberData<'a> {
    pub fn of(m: &'a Member) -> MemberData<'a> {
        MemberData {
            balance: m.balance,
            external_id: m.external_id.as_deref(),
            id: &m.id,
            lifetime_points: m.lifetime_points,
            tier: m.tier.as_deref(),
        }
    }
}

/// A ledger entry as events carry it (the same fields as the API's ledger).
#[derive(Debug, Serialize)]
pub struct EntryData<'a> {
    actor: &'a str,
    amount: i64,
    balance_after: i64,
    created_at: String,
    id: i64,
    idempotency_key: Option<&'a str>,
    kind: EntryKind,
    member_id: &'a MemberId,
    reason: &'a str,
}

impl<'a> EntryData<'a> {
    pub fn of(e: &'a LedgerEntry) -> EntryData<'a> {
        EntryData {
            actor: &e.actor,
            amount: e.amount,
            balance_after: e.balance_after,
            created_at: rfc3339(e.created_at),
            id: e.id,
            idempotency_key: e.idempotency_key.as_deref(),
            kind: e.kind,
            member_id: &e.member_id,
            reason: &e.reason,
        }
    }
}

#[derive(Serialize)]
struct PointsChanged<'a> {
    entry: EntryData<'a>,
    member: MemberData<'a>,
}

#[derive(Serialize)]
struct TierChanged<'a> {
    member: MemberData<'a>,
    previous_tier: Option<&'a str>,
    tier: Option<&'a str>,
}

/// `member.tier_changed` for `member`, whose tier `previous` was.
pub fn tier_changed(member: &Member, previous: Option<&str>) -> Event {
    Event::new(
        EventType::MemberTierChanged,
        TierChanged {
            member: MemberData::of(member),
            previous_tier: previous,
            tier: member.tier.as_deref(),
        },
    )
}

/// What a points change tells: `points.changed` when the balance moved, and
/// `member.tier_changed` when the tier did (`member` is as the change left it).
pub fn points_events(member: &Member, entry: &LedgerEntry, moved: Option<&TierMove>) -> Vec<Event> {
    let mut events = Vec::new();
    if entry.amount != 0 {
        events.push(Event::new(
            EventType::PointsChanged,
            PointsChanged {
                entry: EntryData::of(entry),
                member: MemberData::of(member),
            },
        ));
    }
    if let Some(moved) = moved {
        events.push(tier_changed(member, moved.previous.as_deref()));
    }
    events
}

#[derive(Serialize)]
struct CardChanged<'a> {
    member: MemberData<'a>,
    wallet: &'a str,
}

/// `card.installed` or `card.removed` (`kind`) for `member`'s card in `wallet`.
pub fn card_event(kind: EventType, member: &Member, wallet: &str) -> Event {
    Event::new(
        kind,
        CardChanged {
            member: MemberData::of(member),
            wallet,
        },
    )
}

/// A scan as events describe it.
#[derive(Debug, Serialize)]
pub struct ScanData<'a> {
    pub action: ScanAction,
    /// The purchase amount, `12.34`.
    pub amount: Option<String>,
    pub created_at: String,
    pub id: i64,
    pub location_id: Option<&'a LocationId>,
    pub member_id: Option<&'a MemberId>,
    pub points: i64,
    pub reason: Option<RejectReason>,
    pub result: &'static str,
    pub reward_id: Option<&'a RewardId>,
    pub staff_key_id: &'a str,
    pub staff_name: &'a str,
}

/// What the scan desk recorded, as [`scan_events`] needs it.
pub struct ScanFacts<'a> {
    pub id: i64,
    pub action: ScanAction,
    pub rejected: Option<RejectReason>,
    pub member: Option<&'a Member>,
    pub location_id: Option<&'a LocationId>,
    pub staff: &'a ApiKey,
    pub amount_minor: Option<i64>,
    pub points: i64,
    pub reward_id: Option<&'a RewardId>,
    pub at: OffsetDateTime,
}

#[derive(Serialize)]
struct ScanEvent<'a> {
    entry: Option<EntryData<'a>>,
    member: Option<MemberData<'a>>,
    scan: ScanData<'a>,
}

/// What a scan tells: `scan.accepted` or `scan.rejected`, and `reward.redeemed` for an
/// accepted redemption, each with the scan, and the member and entry its points change left
/// (`outcome`).
pub fn scan_events(scan: &ScanFacts<'_>, outcome: Option<(&Member, &LedgerEntry)>) -> Vec<Event> {
    let payload = || ScanEvent {
        entry: outcome.map(|(_, e)| EntryData::of(e)),
        member: outcome.map(|(m, _)| MemberData::of(m)),
        scan: ScanData {
            action: scan.action,
            amount: scan
                .amount_minor
                .map(|m| format!("{}.{:02}", m / 100, m % 100)),
            created_at: rfc3339(scan.at),
            id: scan.id,
            location_id: scan.location_id,
            member_id: scan.member.map(|m| &m.id),
            points: scan.points,
            reason: scan.rejected,
            result: if scan.rejected.is_some() {
                "rejected"
            } else {
                "accepted"
            },
            reward_id: scan.reward_id,
            staff_key_id: scan.staff.id.as_str(),
            staff_name: &scan.staff.name,
        },
    };
    let kind = if scan.rejected.is_some() {
        EventType::ScanRejected
    } else {
        EventType::ScanAccepted
    };
    let mut events = vec![Event::new(kind, payload())];
    if scan.rejected.is_none() && scan.action == ScanAction::Redeem {
        events.push(Event::new(EventType::RewardRedeemed, payload()));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes an endpoint has always received: keys in alphabetical order, as the
    /// payloads were built with `json!` before they were typed.
    #[test]
    fn payloads_keep_their_stored_shape() {
        let program = crate::domain::ids::ProgramId::generate(&crate::clock::OsRandom);
        let member = Member {
            tier: Some("Gold".into()),
            ..crate::domain::member::sample(&program)
        };
        let e = tier_changed(&member, Some("Bronze"));
        assert_eq!(e.kind, EventType::MemberTierChanged);
        assert_eq!(
            e.data.to_string(),
            format!(
                r#"{{"member":{{"balance":{},"external_id":null,"id":"{}","lifetime_points":{},"tier":"Gold"}},"previous_tier":"Bronze","tier":"Gold"}}"#,
                member.balance,
                member.id.as_str(),
                member.lifetime_points
            )
        );
    }
}

/// The JSON body POSTed to endpoints (not an API answer). Headers: `Content-Type:
/// application/json`, `User-Agent: passwright/<version>`, `Passwright-Event: <type>`,
/// `Passwright-Delivery: <id>`, `Passwright-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<raw body>")>`. See docs/API.md for the `data` of each type and
/// how to verify.
///
/// The outbox writes the body around the stored `data` (`outbox::webhook::body`); this type
/// describes it, and a test reads every body it writes back through it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookEvent)]
pub struct Envelope {
    /// Unique per event; the same in every delivery (and retry) of it, so receivers can drop
    /// repeats.
    #[schema(value_type = crate::domain::ids::EventId)]
    pub id: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::domain::webhook::EventType)]
    pub event_type: String,
    /// RFC 3339 in UTC with a `Z`, e.g. `2025-03-01T09:30:00.123456Z`.
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(value_type = crate::domain::ids::ProgramId)]
    pub program_id: String,
    /// What happened; its shape depends on `type`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
