//! The append-only points ledger. A member's balance is the sum of their entries.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::ids::{MemberId, ProgramId};
use super::points::Points;
use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earn,
    Redeem,
    Adjust,
    Expire,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Redeem => "redeem",
            EntryKind::Adjust => "adjust",
            EntryKind::Expire => "expire",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "earn" => Ok(EntryKind::Earn),
            "redeem" => Ok(EntryKind::Redeem),
            "adjust" => Ok(EntryKind::Adjust),
            "expire" => Ok(EntryKind::Expire),
            _ => Err(Invalid::new("kind", "unknown ledger entry kind")),
        }
    }

    /// Whether entries of this kind count toward lifetime points (and so tiers). Earning
    /// and corrections do; spending and expiry do not take a tier away.
    pub fn counts_toward_lifetime(self) -> bool {
        matches!(self, EntryKind::Earn | EntryKind::Adjust)
    }
}

#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub id: i64,
    pub program_id: ProgramId,
    pub member_id: MemberId,
    pub kind: EntryKind,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    /// Who caused it: an API key id, `system`, or a CLI user.
    pub actor: String,
    pub idempotency_key: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A change to apply to a member's points, already checked.
#[derive(Debug, Clone)]
pub struct PointsChange {
    pub kind: EntryKind,
    pub amount: Points,
    pub reason: String,
    pub actor: String,
    pub idempotency_key: Option<IdempotencyKey>,
    /// A digest of the request, so a reused key with a different request is refused
    /// instead of silently answering with the first result.
    pub fingerprint: String,
    /// Only explicit adjustments may take a balance below zero.
    pub allow_negative: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// 1 to 200 visible ASCII characters.
impl utoipa::PartialSchema for IdempotencyKey {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some("^[!-~]+$"))
            .examples(["order-2025-0042"])
            .into()
    }
}

impl utoipa::ToSchema for IdempotencyKey {}

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(IdempotencyKey(s.to_string()))
        } else {
            Err(Invalid::new(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of what a request asks for, so a reused idempotency key with a different request
/// is told apart from a retry.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.len().to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_keys() {
        for k in [
            EntryKind::Earn,
            EntryKind::Redeem,
            EntryKind::Adjust,
            EntryKind::Expire,
        ] {
            assert_eq!(EntryKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(!EntryKind::Redeem.counts_toward_lifetime());
        assert!(IdempotencyKey::parse("order-123").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
    }
}
