//! API keys, stored by the SHA-256 of their secret.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::api_key::{ApiKey, Role};
use crate::domain::ids::{ApiKeyId, ProgramId};
use crate::storage::{Store, StoreError};

#[derive(FromRow)]
struct KeyRow {
    id: String,
    name: String,
    role: String,
    program_id: Option<String>,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = StoreError;

    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(ApiKey {
            role: Role::parse(&r.role)
                .map_err(|_| anyhow::anyhow!("api key {} has an invalid role", r.id))?,
            id: ApiKeyId::from_trusted(r.id),
            name: r.name,
            program_id: r.program_id.map(ProgramId::from_trusted),
            created_at: from_micros(r.created_at),
            revoked_at: r.revoked_at.map(from_micros),
        })
    }
}

const KEY_COLUMNS: &str = "id, name, role, program_id, created_at, revoked_at";

impl Store {
    #[tracing::instrument(name = "store.insert_api_key", skip_all)]
    pub async fn insert_api_key(&self, key: &ApiKey, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_keys (id, name, role, program_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id.as_str())
        .bind(&key.name)
        .bind(key.role.as_str())
        .bind(key.program_id.as_ref().map(|p| p.as_str().to_string()))
        .bind(secret_hash)
        .bind(to_micros(key.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The key with this secret hash, revoked or not.
    pub async fn api_key_by_hash(&self, secret_hash: &str) -> Result<ApiKey, StoreError> {
        let row: KeyRow = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    /// Revokes a key; revoking it again keeps the first revocation time.
    #[tracing::instrument(name = "store.revoke_api_key", skip_all)]
    pub async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<ApiKey, StoreError> {
        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.as_str())
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        self.api_key(id).await
    }

    pub async fn api_key(&self, id: &ApiKeyId) -> Result<ApiKey, StoreError> {
        let row: KeyRow =
            sqlx::query_as(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
                .bind(id.as_str())
                .fetch_one(&self.pool)
                .await?;
        row.try_into()
    }
}
