//! Members: enrollment, lookups, paging, profile changes and voiding.

use std::sync::Arc;

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::{from_micros, from_seconds, to_micros};
use crate::domain::apple_ids::{AuthToken, SerialNumber};
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::distribution::{ConsentSource, MessageChannel};
use crate::domain::expiry::Expiring;
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::{Consent, Member, MemberStatus};
use crate::domain::program::Program;
use crate::domain::search;
use crate::storage::distribution::consent::{record_consent, record_consents, NewConsent};
use crate::storage::loyalty::member_search::{add_terms_in, replace_terms_in};
use crate::storage::sql::placeholders;
use crate::storage::{flag, is_unique_violation, Conflict, Store, StoreError};

#[derive(FromRow)]
pub(in crate::storage) struct MemberRow {
    id: String,
    program_id: String,
    external_id: Option<String>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    consent_email: i64,
    consent_sms: i64,
    status: String,
    balance: i64,
    lifetime_points: i64,
    tier: Option<String>,
    version: i64,
    card_generation: i64,
    serial: String,
    auth_token: String,
    created_at: i64,
    updated_at: i64,
    pass_modified: i64,
    expiring_points: i64,
    expiring_at: Option<i64>,
    tier_held: i64,
}

pub(in crate::storage) const MEMBER_COLUMNS: &str = "id, program_id, external_id, name, email, phone, consent_email, \
     consent_sms, status, balance, lifetime_points, tier, version, card_generation, serial, auth_token, \
     created_at, updated_at, pass_modified, expiring_points, expiring_at, tier_held";

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;

    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| anyhow::anyhow!("stored member {} has an invalid {what}", r.id);
        Ok(Member {
            email: r
                .email
                .as_deref()
                .map(EmailAddress::parse)
                .transpose()
                .map_err(|_| corrupt("email"))?,
            phone: r
                .phone
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()
                .map_err(|_| corrupt("phone"))?,
            status: MemberStatus::parse(&r.status).map_err(|_| corrupt("status"))?,
            serial: SerialNumber::parse(&r.serial).map_err(|_| corrupt("serial"))?,
            auth_token: AuthToken::parse(&r.auth_token).map_err(|_| corrupt("token"))?,
            consent: Consent {
                email: r.consent_email != 0,
                sms: r.consent_sms != 0,
            },
            id: MemberId::from_trusted(r.id),
            program_id: ProgramId::from_trusted(r.program_id),
            external_id: r.external_id,
            name: r.name,
            balance: r.balance,
            lifetime_points: r.lifetime_points,
            tier: r.tier,
            tier_held: r.tier_held != 0,
            version: r.version,
            card_generation: r.card_generation,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
            pass_modified: from_seconds(r.pass_modified),
            expiring: r
                .expiring_at
                .filter(|_| r.expiring_points > 0)
                .map(|at| Expiring {
                    points: r.expiring_points,
                    at: from_micros(at),
                }),
        })
    }
}

/// How a member is looked up.
#[derive(Debug, Clone, Copy)]
pub enum MemberKey<'a> {
    Id(&'a MemberId),
    Serial(&'a SerialNumber),
}

#[derive(FromRow)]
struct MemberWithVersion {
    #[sqlx(flatten)]
    member: MemberRow,
    program_design_version: i64,
}

/// A member joined with their program's current design version, by `m.<column>`; built once,
/// since this query runs for every pass and member request.
fn member_and_version_sql(column: &str) -> String {
    let columns = MEMBER_COLUMNS
        .split(',')
        .map(|c| format!("m.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}, p.design_version AS program_design_version FROM members m \
         JOIN programs p ON p.id = m.program_id WHERE m.{column} = $1"
    )
}

static MEMBER_BY_ID_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| member_and_version_sql("id"));
static MEMBER_BY_SERIAL_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| member_and_version_sql("serial"));

impl Store {
    /// Stores a new member; the consent they gave goes into their consent history, marked
    /// with where they gave it.
    #[tracing::instrument(name = "store.insert_member", skip_all)]
    pub async fn insert_member(&self, m: &Member, source: ConsentSource) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        insert_member_in(&mut tx, m, source).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    pub async fn member(&self, id: &MemberId) -> Result<Member, StoreError> {
        let row: MemberRow = sqlx::query_as(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    /// A member and their program in one round trip: the member row carries the program's
    /// current design version, and the parsed program comes from memory when it matches.
    pub async fn member_and_program(
        &self,
        key: MemberKey<'_>,
    ) -> Result<(Member, Arc<Program>), StoreError> {
        self.member_lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (sql, value) = match key {
            MemberKey::Id(id) => (&*MEMBER_BY_ID_SQL, id.as_str()),
            MemberKey::Serial(serial) => (&*MEMBER_BY_SERIAL_SQL, serial.as_str()),
        };
        let row: MemberWithVersion = sqlx::query_as(sql)
            .bind(value)
            .fetch_one(&self.pool)
            .await?;
        let version = row.program_design_version;
        let member = Member::try_from(row.member)?;
        let program = self.program_at(&member.program_id, version).await?;
        Ok((member, program))
    }

    /// Saves the profile fields of `m` (name, contact, consent, external id) and bumps the
    /// version. Points, tier and status change only through their own operations.
    #[tracing::instrument(name = "store.update_member_profile", skip_all)]
    pub async fn update_member_profile(
        &self,
        m: &Member,
        now: OffsetDateTime,
    ) -> Result<Member, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let before: Option<(i64, i64)> =
            sqlx::query_as("SELECT consent_email, consent_sms FROM members WHERE id = $1")
                .bind(m.id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let result = sqlx::query(
            "UPDATE members SET external_id = $2, name = $3, email = $4, phone = $5, consent_email = $6, \
             consent_sms = $7, version = version + 1, updated_at = $8 WHERE id = $1",
        )
        .bind(m.id.as_str())
        .bind(m.external_id.clone())
        .bind(&m.name)
        .bind(m.email.as_ref().map(|e| e.as_str().to_string()))
        .bind(m.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(flag(m.consent.email))
        .bind(flag(m.consent.sms))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => Err(StoreError::NotFound),
            Ok(_) => {
                let (email, sms) = before.unwrap_or_default();
                for (channel, was, now_granted) in [
                    (MessageChannel::Email, email != 0, m.consent.email),
                    (MessageChannel::Sms, sms != 0, m.consent.sms),
                ] {
                    if was != now_granted {
                        record_consent(
                            &mut tx,
                            &m.program_id,
                            &m.id,
                            channel,
                            now_granted,
                            ConsentSource::Api,
                            now,
                        )
                        .await?;
                    }
                }
                replace_terms_in(&mut tx, std::slice::from_ref(m)).await?;
                self.member_card_changed(&mut tx, &m.id, &m.serial, now)
                    .await?;
                tx.commit().await?;
                writer.finish().await?;
                self.member(&m.id).await
            }
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(Conflict::ExternalIdTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Voids or re-issues the card (see [`CardAction`]). Either way the card gets a new
    /// generation, so its old barcode and download link stop working, and the phones
    /// holding it receive the changed pass (same serial) through the outbox.
    #[tracing::instrument(name = "store.change_card", skip_all)]
    pub async fn change_card(
        &self,
        id: &MemberId,
        action: CardAction,
        now: OffsetDateTime,
    ) -> Result<Member, StoreError> {
        let status = match action {
            CardAction::Void => ", status = 'voided', voided_at = $2",
            CardAction::Reissue => "",
        };
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let serial: Option<String> = sqlx::query_scalar(&format!(
            "UPDATE members SET version = version + 1, card_generation = card_generation + 1, \
             updated_at = $2{status} WHERE id = $1 AND status = 'active' RETURNING serial"
        ))
        .bind(id.as_str())
        .bind(to_micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(serial) = &serial {
            let serial = SerialNumber::parse(serial)
                .map_err(|_| anyhow::anyhow!("stored member {id} has an invalid serial"))?;
            self.member_card_changed(&mut tx, id, &serial, now).await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        let member = self.member(id).await?;
        match (serial, action, member.status) {
            (Some(_), _, _) => Ok(member),
            // Voiding twice is not an error: the member as it is.
            (None, CardAction::Void, MemberStatus::Voided) => Ok(member),
            (None, CardAction::Reissue, MemberStatus::Voided) => {
                Err(StoreError::Conflict(Conflict::MemberVoided))
            }
            (None, _, _) => {
                Err(anyhow::anyhow!("the card of member {id} could not be changed").into())
            }
        }
    }
}

impl Store {
    /// Erases what identifies the person (a request to be forgotten): the name becomes
    /// "Erased member"; email, phone, external id and consent are removed; the card is
    /// cancelled with a new generation, so its barcode and link stop working, and the phones
    /// and Google receive the changed card through the outbox. The messages sent keep their
    /// status, but not what they carried. Points entries and scans stay (they hold no contact
    /// details). Erasing twice changes nothing more.
    #[tracing::instrument(name = "store.erase_member", skip_all)]
    pub async fn erase_member(
        &self,
        id: &MemberId,
        now: OffsetDateTime,
    ) -> Result<Member, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let serial: Option<String> = sqlx::query_scalar(
            "UPDATE members SET name = 'Erased member', email = NULL, phone = NULL, \
             external_id = NULL, consent_email = 0, consent_sms = 0, status = 'voided', \
             voided_at = COALESCE(voided_at, $2), version = version + 1, \
             card_generation = card_generation + 1, updated_at = $2 \
             WHERE id = $1 AND NOT (name = 'Erased member' AND email IS NULL AND phone IS NULL \
             AND external_id IS NULL AND status = 'voided') RETURNING serial",
        )
        .bind(id.as_str())
        .bind(to_micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(serial) = &serial {
            sqlx::query("UPDATE messages SET data = '{}' WHERE member_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            let serial = SerialNumber::parse(serial)
                .map_err(|_| anyhow::anyhow!("stored member {id} has an invalid serial"))?;
            let erased: MemberRow = sqlx::query_as(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
            ))
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            replace_terms_in(&mut tx, &[Member::try_from(erased)?]).await?;
            self.member_card_changed(&mut tx, id, &serial, now).await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        self.member(id).await
    }
}

/// What [`Store::change_card`] does to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAction {
    /// The pass shows as void; changes to the member are refused from now on.
    Void,
    /// A new barcode and download link for a barcode that was shared or a phone that was
    /// lost; the old barcode is refused at the counter as `superseded`.
    Reissue,
}

/// Inserts `m` and records its initial consent (granted channels) with `source`, in the
/// caller's transaction; 409-style `ExternalIdTaken` when the external id is in use.
pub(in crate::storage) async fn insert_member_in(
    conn: &mut AnyConnection,
    m: &Member,
    source: ConsentSource,
) -> Result<(), StoreError> {
    insert_members_in(conn, std::slice::from_ref(m), source).await
}

/// [`insert_member_in`] for many members (an import), fifty members per statement.
pub(in crate::storage) async fn insert_members_in(
    conn: &mut AnyConnection,
    members: &[Member],
    source: ConsentSource,
) -> Result<(), StoreError> {
    const COLUMNS: usize = 22;
    for chunk in members.chunks(50) {
        let rows = (0..chunk.len())
            .map(|i| format!("({})", placeholders(1 + i * COLUMNS, COLUMNS)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO members (id, program_id, external_id, name, email, phone, consent_email, \
             consent_sms, status, balance, lifetime_points, tier, version, card_generation, serial, \
             auth_token, created_at, updated_at, pass_modified, search_terms, name_key, tier_held) VALUES {rows}"
        );
        let mut q = sqlx::query(&sql);
        for m in chunk {
            q = q
                .bind(m.id.as_str())
                .bind(m.program_id.as_str())
                .bind(m.external_id.clone())
                .bind(&m.name)
                .bind(m.email.as_ref().map(|e| e.as_str().to_string()))
                .bind(m.phone.as_ref().map(|p| p.as_str().to_string()))
                .bind(flag(m.consent.email))
                .bind(flag(m.consent.sms))
                .bind(m.status.as_str())
                .bind(m.balance)
                .bind(m.lifetime_points)
                .bind(m.tier.clone())
                .bind(m.version)
                .bind(m.card_generation)
                .bind(m.serial.as_str())
                .bind(m.auth_token.expose())
                .bind(to_micros(m.created_at))
                .bind(to_micros(m.updated_at))
                .bind(m.pass_modified.unix_timestamp())
                .bind(search::TERMS_VERSION)
                .bind(search::name_key(&m.name))
                .bind(flag(m.tier_held));
        }
        match q.execute(&mut *conn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(Conflict::ExternalIdTaken))
            }
            Err(e) => return Err(e.into()),
        }
    }
    add_terms_in(conn, members).await?;
    let granted: Vec<NewConsent<'_>> = members
        .iter()
        .flat_map(|m| {
            [
                (MessageChannel::Email, m.consent.email),
                (MessageChannel::Sms, m.consent.sms),
            ]
            .into_iter()
            .filter(|(_, granted)| *granted)
            .map(move |(channel, _)| NewConsent {
                program: &m.program_id,
                member: &m.id,
                channel,
                granted: true,
                source,
                at: m.created_at,
            })
        })
        .collect();
    record_consents(conn, &granted).await
}
