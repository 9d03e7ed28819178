//! Creating API keys, shared by the CLI (`passwright keys create`) and the admin API.

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
