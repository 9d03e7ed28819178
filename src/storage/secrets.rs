//! Service-wide secrets generated on first use and shared by every instance through the
//! database (the first instance to start wins the insert; the others read its value).

use time::OffsetDateTime;

use super::{Store, StoreError};
use crate::clock::to_micros;

impl Store {
    /// The stored secret `name`, created from `generate` if there is none yet.
    pub async fn service_secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO service_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(generate())
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM service_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
