//! Locations: the counters a scan is made at, each named once per program.

use sqlx::FromRow;

use crate::clock::{from_micros, to_micros};
use crate::domain::ids::{LocationId, ProgramId};
use crate::domain::scan::Location;
use crate::storage::{is_unique_violation, Conflict, Store, StoreError};

#[derive(FromRow)]
struct LocationRow {
    id: String,
    program_id: String,
    name: String,
    address: Option<String>,
    created_at: i64,
}

impl From<LocationRow> for Location {
    fn from(r: LocationRow) -> Self {
        Location {
            id: LocationId::from_trusted(r.id),
            program_id: ProgramId::from_trusted(r.program_id),
            name: r.name,
            address: r.address,
            created_at: from_micros(r.created_at),
        }
    }
}

impl Store {
    #[tracing::instrument(name = "store.insert_location", skip_all)]
    pub async fn insert_location(&self, l: &Location) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO locations (id, program_id, name, address, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(l.id.as_str())
        .bind(l.program_id.as_str())
        .bind(&l.name)
        .bind(l.address.clone())
        .bind(to_micros(l.created_at))
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(Conflict::LocationNameTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Locations of every program, or of one.
    pub async fn locations(&self, scope: Option<&ProgramId>) -> Result<Vec<Location>, StoreError> {
        let rows: Vec<LocationRow> = sqlx::query_as(
            "SELECT id, program_id, name, address, created_at FROM locations \
             WHERE ($1 IS NULL OR program_id = $1) ORDER BY program_id, name",
        )
        .bind(scope.map(|p| p.as_str().to_string()))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Location::from).collect())
    }

    /// The program a location belongs to, read once per location and then kept.
    pub async fn location_program(&self, id: &LocationId) -> Result<ProgramId, StoreError> {
        let known = self
            .location_programs
            .lock()
            .ok()
            .and_then(|m| m.get(id.as_str()).cloned());
        if let Some(p) = known {
            return Ok(p);
        }
        let program = self.location(id).await?.program_id;
        if let Ok(mut m) = self.location_programs.lock() {
            m.insert(id.as_str().to_string(), program.clone());
        }
        Ok(program)
    }

    pub async fn location(&self, id: &LocationId) -> Result<Location, StoreError> {
        let row: LocationRow = sqlx::query_as(
            "SELECT id, program_id, name, address, created_at FROM locations WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }
}
