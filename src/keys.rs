//! Creating API keys, shared by the CLI (`passwright keys create`) and the admin API, and the
//! short-lived cache of keys the API checks requests against.

use time::OffsetDateTime;

use crate::clock::Random;
use crate::domain::api_key::{ApiKey, KeySecret, Role};
use crate::domain::ids::{ApiKeyId, ProgramId};
use crate::domain::{text, Invalid};
use crate::storage::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("program {0} does not exist")]
    UnknownProgram(ProgramId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a key and returns it with its secret, which is shown once and never stored.
pub async fn create(
    store: &Store,
    rng: &dyn Random,
    name: &str,
    role: Role,
    program: Option<ProgramId>,
    now: OffsetDateTime,
) -> Result<(ApiKey, KeySecret), KeyError> {
    let name = text("name", name, 80)?;
    if let Some(p) = &program {
        match store.program(p).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => return Err(KeyError::UnknownProgram(p.clone())),
            Err(e) => return Err(e.into()),
        }
    }
    let key = ApiKey {
        id: ApiKeyId::generate(rng),
        name,
        role,
        program_id: program,
        created_at: now,
        revoked_at: None,
    };
    let secret = KeySecret::generate(rng);
    store.insert_api_key(&key, &secret.hash()).await?;
    Ok((key, secret))
}

/// API keys recently found by the hash of their secret, each kept for at most `ttl`, so that
/// a busy integration does not cost a database query per request. A key revoked through this
/// instance leaves the cache at once; one revoked elsewhere (the CLI, another instance) is
/// refused here at most `ttl` later. Unknown secrets are never cached.
pub struct KeyCache {
    ttl: time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<String, (ApiKey, OffsetDateTime)>>,
}

impl KeyCache {
    /// Entries beyond this are dropped wholesale; real deployments have far fewer keys.
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: time::Duration) -> KeyCache {
        KeyCache {
            ttl,
            entries: std::sync::Mutex::default(),
        }
    }

    pub fn get(&self, secret_hash: &str, now: OffsetDateTime) -> Option<ApiKey> {
        let entries = self.entries.lock().ok()?;
        let (key, at) = entries.get(secret_hash)?;
        (now - *at < self.ttl).then(|| key.clone())
    }

    pub fn put(&self, secret_hash: &str, key: &ApiKey, now: OffsetDateTime) {
        if self.ttl <= time::Duration::ZERO || key.revoked_at.is_some() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(secret_hash.to_string(), (key.clone(), now));
        }
    }

    pub fn forget(&self, id: &ApiKeyId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (key, _)| &key.id != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock, OsRandom};

    fn key() -> ApiKey {
        ApiKey {
            id: ApiKeyId::generate(&OsRandom),
            name: "k".into(),
            role: Role::Staff,
            program_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            revoked_at: None,
        }
    }

    #[test]
    fn entries_expire_and_revocations_evict() {
        let clock = ManualClock::at(time::macros::datetime!(2026-11-23 10:00 UTC));
        let cache = KeyCache::new(time::Duration::seconds(1));
        let k = key();
        cache.put("h", &k, clock.now());
        assert_eq!(cache.get("h", clock.now()).unwrap().id, k.id);
        clock.advance(time::Duration::milliseconds(1001));
        assert!(cache.get("h", clock.now()).is_none(), "expired");
        cache.put("h", &k, clock.now());
        cache.forget(&k.id);
        assert!(
            cache.get("h", clock.now()).is_none(),
            "revoked here: gone at once"
        );
        let mut revoked = key();
        revoked.revoked_at = Some(clock.now());
        cache.put("r", &revoked, clock.now());
        assert!(
            cache.get("r", clock.now()).is_none(),
            "revoked keys are never cached"
        );
        let off = KeyCache::new(time::Duration::ZERO);
        off.put("h", &k, clock.now());
        assert!(off.get("h", clock.now()).is_none());
    }
}
