//! `passwright keys create|revoke`.

use super::KeysCommand;
use crate::clock::{rfc3339, OsRandom};
use crate::domain::api_key::Role;
use crate::domain::ids::{ApiKeyId, ProgramId};
use crate::settings::Settings;
use crate::startup::open_store;

pub async fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let now = crate::clock::system_now();
    match command {
        KeysCommand::Create {
            name,
            role,
            program,
        } => {
            let role = Role::parse(&role)?;
            let program = program.as_deref().map(ProgramId::parse).transpose()?;
            let (key, secret) =
                crate::keys::create(&store, &OsRandom, &name, role, program, now).await?;
            println!(
                "created {} key {} ({})",
                key.role.as_str(),
                key.id,
                key.name
            );
            println!("secret (shown once, keep it safe): {}", secret.expose());
        }
        KeysCommand::Revoke { id } => {
            let id = ApiKeyId::parse(&id)?;
            let key = store.revoke_api_key(&id, now).await.map_err(|e| match e {
                crate::storage::StoreError::NotFound => anyhow::anyhow!("no API key {id}"),
                other => other.into(),
            })?;
            let at = key.revoked_at.map(rfc3339).unwrap_or_default();
            println!("revoked {} ({}) at {at}", key.id, key.name);
        }
    }
    store.close().await;
    Ok(())
}
