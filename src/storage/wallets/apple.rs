//! The Apple PassKit web service's storage: devices and their push tokens, registrations of
//! passes on devices (each new or removed one also a card event), "serials updated since" and
//! device logs.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::apple_ids::{PassTypeId, SerialNumber};
use crate::domain::card_event::{CardChange, Wallet};
use crate::domain::device::{DeviceLibraryId, PushToken};
use crate::domain::ids::ProgramId;
use crate::storage::wallets::card_events::CardOf;
use crate::storage::{Engine, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created,
    /// The device had this pass registered already (its push token may have changed).
    Existing,
}

/// Answer to "which of my passes changed since `tag`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedSerials {
    pub serials: Vec<String>,
    /// Opaque; the device sends it back next time.
    pub tag: String,
}

#[derive(FromRow)]
struct UpdatedRow {
    tag: String,
    serial: Option<String>,
    changed: Option<i64>,
}

impl Store {
    /// Registers `serial` on the device (creating the device), refreshing its push token.
    #[tracing::instrument(name = "store.register_device", skip_all)]
    pub async fn register_device(
        &self,
        device: &DeviceLibraryId,
        push_token: &PushToken,
        pass_type: &PassTypeId,
        serial: &SerialNumber,
        program: &ProgramId,
        now: OffsetDateTime,
    ) -> Result<Registration, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query(
            "INSERT INTO apple_devices (device_library_id, push_token, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (device_library_id) DO UPDATE SET push_token = excluded.push_token, updated_at = excluded.updated_at",
        )
        .bind(device.as_str())
        .bind(push_token.as_str())
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        // Every registration of the device carries its current token (pushes read it there).
        sqlx::query(
            "UPDATE apple_registrations SET push_token = $2 WHERE device_library_id = $1 AND push_token <> $2",
        )
        .bind(device.as_str())
        .bind(push_token.as_str())
        .execute(&mut *tx)
        .await?;
        let added = sqlx::query(
            "INSERT INTO apple_registrations (device_library_id, pass_type_id, serial, program_id, push_token, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_library_id, pass_type_id, serial) DO NOTHING",
        )
        .bind(device.as_str())
        .bind(pass_type.as_str())
        .bind(serial.as_str())
        .bind(program.as_str())
        .bind(push_token.as_str())
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            let card = CardOf::Serial(serial.as_str());
            self.card_changed(&mut tx, card, Wallet::Apple, CardChange::Installed, now)
                .await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        Ok(if added {
            self.jobs_added();
            Registration::Created
        } else {
            Registration::Existing
        })
    }

    /// Removes the registration (and the device once it has none). Idempotent: true when
    /// there was one to remove.
    #[tracing::instrument(name = "store.unregister_device", skip_all)]
    pub async fn unregister_device(
        &self,
        device: &DeviceLibraryId,
        pass_type: &PassTypeId,
        serial: &SerialNumber,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM apple_registrations WHERE device_library_id = $1 AND pass_type_id = $2 AND serial = $3",
        )
        .bind(device.as_str())
        .bind(pass_type.as_str())
        .bind(serial.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        sqlx::query(
            "DELETE FROM apple_devices WHERE device_library_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM apple_registrations r WHERE r.device_library_id = $1)",
        )
        .bind(device.as_str())
        .execute(&mut *tx)
        .await?;
        if removed {
            let card = CardOf::Serial(serial.as_str());
            self.card_changed(&mut tx, card, Wallet::Apple, CardChange::Removed, now)
                .await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        if removed {
            self.jobs_added();
        }
        Ok(removed)
    }

    /// APNs said the token is no longer valid for the topic since `since`: remove the
    /// registrations of devices with that token for that pass type, unless they registered
    /// again after `since`. Each counts as the card removed from that device. Returns how many
    /// registrations went.
    #[tracing::instrument(name = "store.drop_push_token", skip_all)]
    pub async fn drop_push_token(
        &self,
        pass_type: &PassTypeId,
        token: &PushToken,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let serials: Vec<String> = sqlx::query_scalar(
            "DELETE FROM apple_registrations WHERE pass_type_id = $1 AND device_library_id IN \
             (SELECT device_library_id FROM apple_devices WHERE push_token = $2 AND updated_at <= $3) \
             RETURNING serial",
        )
        .bind(pass_type.as_str())
        .bind(token.as_str())
        .bind(to_micros(since))
        .fetch_all(&mut *tx)
        .await?;
        for serial in &serials {
            let card = CardOf::Serial(serial);
            self.card_changed(&mut tx, card, Wallet::Apple, CardChange::Removed, now)
                .await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        if !serials.is_empty() {
            self.jobs_added();
        }
        Ok(serials.len() as u64)
    }

    /// The device's passes of `pass_type` changed after `since` (all of them without a tag
    /// or with one this engine did not issue), and the tag to send next time. `None` when
    /// the device has no such passes registered.
    pub async fn serials_updated_since(
        &self,
        device: &DeviceLibraryId,
        pass_type: &PassTypeId,
        since: Option<&str>,
    ) -> Result<Option<UpdatedSerials>, StoreError> {
        let sql = match self.engine {
            Engine::Sqlite => {
                "SELECT s.tag, x.serial, x.changed FROM \
                 (SELECT CAST(value AS TEXT) AS tag FROM change_clock WHERE id = 1) s LEFT JOIN \
                 (SELECT r.serial AS serial, CASE WHEN $3 IS NULL OR m.pass_mark > $3 OR p.pass_mark > $3 \
                  THEN 1 ELSE 0 END AS changed \
                  FROM apple_registrations r JOIN members m ON m.serial = r.serial JOIN programs p ON p.id = m.program_id \
                  WHERE r.device_library_id = $1 AND r.pass_type_id = $2) x ON 1 = 1"
            }
            // One statement, one snapshot: the tag is the snapshot the answer was read at.
            Engine::Postgres => {
                "SELECT s.tag, x.serial, x.changed FROM \
                 (SELECT pg_current_snapshot()::text AS tag) s LEFT JOIN \
                 (SELECT r.serial AS serial, CASE WHEN $3::text IS NULL \
                  OR NOT pg_visible_in_snapshot(m.pass_mark, $3::text::pg_snapshot) \
                  OR NOT pg_visible_in_snapshot(p.pass_mark, $3::text::pg_snapshot) THEN 1 ELSE 0 END AS changed \
                  FROM apple_registrations r JOIN members m ON m.serial = r.serial JOIN programs p ON p.id = m.program_id \
                  WHERE r.device_library_id = $1 AND r.pass_type_id = $2) x ON TRUE"
            }
        };
        let query = sqlx::query_as::<_, UpdatedRow>(sql)
            .bind(device.as_str())
            .bind(pass_type.as_str());
        let query = match self.engine {
            Engine::Sqlite => query.bind(since.and_then(|t| t.parse::<i64>().ok())),
            Engine::Postgres => query.bind(since.filter(|t| is_pg_snapshot(t)).map(str::to_string)),
        };
        let rows = query.fetch_all(&self.pool).await?;
        let Some(tag) = rows.first().map(|r| r.tag.clone()) else {
            return Err(anyhow::anyhow!("the change tag query returned no row").into());
        };
        if rows.iter().all(|r| r.serial.is_none()) {
            return Ok(None);
        }
        let mut serials: Vec<String> = rows
            .into_iter()
            .filter(|r| r.changed == Some(1))
            .filter_map(|r| r.serial)
            .collect();
        serials.sort();
        Ok(Some(UpdatedSerials { serials, tag }))
    }

    #[tracing::instrument(name = "store.add_device_logs", skip_all)]
    pub async fn add_device_logs(
        &self,
        messages: &[String],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for m in messages {
            sqlx::query("INSERT INTO device_logs (received_at, message) VALUES ($1, $2)")
                .bind(to_micros(now))
                .bind(m)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    /// The devices that hold the pass of `serial` (registered for its updates), the first
    /// added first: each device's library id and when the pass was added to it.
    pub async fn apple_devices(
        &self,
        serial: &str,
    ) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT device_library_id, created_at FROM apple_registrations WHERE serial = $1 \
             ORDER BY created_at, id",
        )
        .bind(serial)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(device, at)| (device, from_micros(at)))
            .collect())
    }

    /// Cards of the program that sit in a wallet and change with its design: Apple passes
    /// registered on at least one device, and Google cards saved and not deleted since.
    pub async fn installed_cards(&self, program: &ProgramId) -> Result<(i64, i64), StoreError> {
        let apple: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT serial) FROM apple_registrations WHERE program_id = $1",
        )
        .bind(program.as_str())
        .fetch_one(&self.pool)
        .await?;
        let google: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM google_objects WHERE program_id = $1 AND saved_at IS NOT NULL \
             AND (deleted_at IS NULL OR deleted_at < saved_at)",
        )
        .bind(program.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok((apple, google))
    }

    /// Newest first: (received at, message).
    pub async fn device_logs(&self, limit: u32) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT received_at, message FROM device_logs ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(&self.pool)
            .await?,
        )
    }

    #[tracing::instrument(name = "store.purge_device_logs", skip_all)]
    pub async fn purge_device_logs(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM device_logs WHERE received_at < $1")
                .bind(to_micros(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// A PostgreSQL snapshot as text (`xmin:xmax:xip,…`) that the server will accept: a tag we
/// did not issue (another engine's, or garbage) is treated as no tag at all.
fn is_pg_snapshot(s: &str) -> bool {
    if s.len() > 4096 {
        return false;
    }
    let mut parts = s.split(':');
    let (Some(xmin), Some(xmax), Some(xip), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let number = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (Some(xmin), Some(xmax)) = (number(xmin), number(xmax)) else {
        return false;
    };
    if xmin == 0 || xmin > xmax {
        return false;
    }
    if xip.is_empty() {
        return true;
    }
    let mut last = None;
    for x in xip.split(',') {
        match number(x) {
            Some(v) if v >= xmin && v < xmax && last.is_none_or(|l| v > l) => last = Some(v),
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_pg_snapshot;

    #[test]
    fn only_well_formed_snapshots_reach_postgresql() {
        assert!(is_pg_snapshot("795:795:"));
        assert!(is_pg_snapshot("10:20:10,14,15"));
        assert!(!is_pg_snapshot("17"));
        assert!(!is_pg_snapshot("20:10:"));
        assert!(!is_pg_snapshot("10:20:21"));
        assert!(!is_pg_snapshot("10:20:15,14"));
        assert!(!is_pg_snapshot("10:20:x"));
        assert!(!is_pg_snapshot("0:0:"));
        assert!(!is_pg_snapshot("1:2:3:4"));
        assert!(!is_pg_snapshot("99999999999999999999999:1:"));
    }
}
