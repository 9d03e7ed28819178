//! Console users, their sessions, their one-time links and the failed sign-ins the throttle
//! counts. Sessions are found by the SHA-256 of the cookie's token; a link by its id.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::audit::{record, AuditEntry};
use super::outbox::enqueue;
use crate::clock::{from_micros, to_micros};
use crate::domain::api_key::Role;
use crate::domain::ids::{ProgramId, UserId};
use crate::domain::job::Job;
use crate::domain::user::{LinkPurpose, OneTimeLink, Session, User};
use crate::storage::{is_unique_violation, Conflict, Store, StoreError};

#[derive(FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    program_id: Option<String>,
    has_password: i64,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<User, StoreError> {
        Ok(User {
            role: Role::parse(&r.role)
                .map_err(|_| anyhow::anyhow!("console user {} has an invalid role", r.id))?,
            id: UserId::from_trusted(r.id),
            email: r.email,
            name: r.name,
            program_id: r.program_id.map(ProgramId::from_trusted),
            has_password: r.has_password != 0,
            created_at: from_micros(r.created_at),
            disabled_at: r.disabled_at.map(from_micros),
        })
    }
}

const USER_COLUMNS: &str = "u.id, u.email, u.name, u.role, u.program_id, \
     CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS has_password, u.created_at, u.disabled_at";

#[derive(FromRow)]
struct SessionRow {
    token_hash: String,
    user_id: String,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Session {
        Session {
            token_hash: r.token_hash,
            user_id: UserId::from_trusted(r.user_id),
            csrf_token: r.csrf_token,
            created_at: from_micros(r.created_at),
            last_seen_at: from_micros(r.last_seen_at),
            expires_at: from_micros(r.expires_at),
        }
    }
}

#[derive(FromRow)]
struct LinkRow {
    id: String,
    user_id: String,
    purpose: String,
    created_by: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TryFrom<LinkRow> for OneTimeLink {
    type Error = StoreError;

    fn try_from(r: LinkRow) -> Result<OneTimeLink, StoreError> {
        Ok(OneTimeLink {
            purpose: LinkPurpose::parse(&r.purpose)
                .ok_or_else(|| anyhow::anyhow!("console link {} has an invalid purpose", r.id))?,
            id: r.id,
            user_id: UserId::from_trusted(r.user_id),
            created_by: r.created_by,
            created_at: from_micros(r.created_at),
            expires_at: from_micros(r.expires_at),
            used_at: r.used_at.map(from_micros),
        })
    }
}

/// A user to add: with a password hash (the CLI, the demo) or without (an invitation).
pub struct NewUser<'a> {
    pub user: &'a User,
    pub password_hash: Option<&'a str>,
}

/// A one-time link to write with its email job.
pub struct NewLink<'a> {
    pub id: &'a str,
    pub purpose: LinkPurpose,
    pub expires_at: OffsetDateTime,
    /// Who made it, as the email names them.
    pub created_by: &'a str,
    /// Whether to queue the email that carries it (the CLI prints the link instead).
    pub email: bool,
}

impl Store {
    /// Adds a user, and the link to their first password if one is given, in one
    /// transaction. An address already in use is `Conflict::EmailTaken`.
    #[tracing::instrument(name = "store.insert_user", skip_all)]
    pub async fn insert_user(
        &self,
        new: &NewUser<'_>,
        link: Option<&NewLink<'_>>,
        audit: &AuditEntry<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let user = new.user;
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO console_users (id, email, name, role, program_id, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.as_str())
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.program_id.as_ref().map(|p| p.as_str().to_string()))
        .bind(new.password_hash.map(str::to_string))
        .bind(to_micros(user.created_at))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(Conflict::EmailTaken))
            }
            Err(e) => return Err(e.into()),
        }
        let queued = match link {
            Some(link) => insert_link(&mut tx, &user.id, link, now).await?,
            None => false,
        };
        record(&mut tx, audit, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        if queued {
            self.jobs_added();
        }
        Ok(())
    }

    /// A new one-time link for `user` (and its email, when asked), unless one of the same
    /// purpose was made less than `not_before` ago: then nothing is written and the answer is
    /// false, so a form sent again and again does not mail the same person again and again.
    #[tracing::instrument(name = "store.add_user_link", skip_all)]
    pub async fn add_user_link(
        &self,
        user: &UserId,
        link: &NewLink<'_>,
        not_before: OffsetDateTime,
        audit: &AuditEntry<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM console_links WHERE user_id = $1 AND purpose = $2 AND created_at > $3",
        )
        .bind(user.as_str())
        .bind(link.purpose.as_str())
        .bind(to_micros(not_before))
        .fetch_one(&mut *tx)
        .await?;
        if recent > 0 {
            tx.rollback().await?;
            writer.finish().await?;
            return Ok(false);
        }
        let queued = insert_link(&mut tx, user, link, now).await?;
        record(&mut tx, audit, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        if queued {
            self.jobs_added();
        }
        Ok(true)
    }

    pub async fn user(&self, id: &UserId) -> Result<User, StoreError> {
        let row: UserRow = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM console_users u WHERE u.id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    /// The user with this (lower-cased) address and their password hash, if they have one.
    pub async fn user_by_email(&self, email: &str) -> Result<(User, Option<String>), StoreError> {
        #[derive(FromRow)]
        struct WithHash {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: Option<String>,
        }
        let row: WithHash = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM console_users u WHERE u.email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((row.user.try_into()?, row.password_hash))
    }

    /// Every user, or those of one program (and the unscoped ones, who see it too), by address.
    pub async fn users(&self, program: Option<&ProgramId>) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM console_users u \
             WHERE $1 IS NULL OR u.program_id IS NULL OR u.program_id = $1 ORDER BY u.email"
        ))
        .bind(program.map(|p| p.as_str().to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    /// Whether any user exists (the first one is made with the CLI).
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM console_users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Disables or enables a user. Disabling ends every session of theirs, in the same
    /// transaction.
    #[tracing::instrument(name = "store.set_user_disabled", skip_all)]
    pub async fn set_user_disabled(
        &self,
        user: &UserId,
        disabled: bool,
        audit: &AuditEntry<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let changed = sqlx::query("UPDATE console_users SET disabled_at = $2 WHERE id = $1")
            .bind(user.as_str())
            .bind(disabled.then(|| to_micros(now)))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
        }
        record(&mut tx, audit, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.insert_session", skip_all)]
    pub async fn insert_session(
        &self,
        session: &Session,
        audit: &AuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        insert_session(&mut tx, session).await?;
        record(&mut tx, audit, session.created_at).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    /// The session with this token hash and its user, unless it has expired.
    pub async fn session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(Session, User), StoreError> {
        let row: SessionRow = sqlx::query_as(
            "SELECT token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at \
             FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let session = Session::from(row);
        let user = self.user(&session.user_id).await?;
        Ok((session, user))
    }

    /// Moves a session's idle expiry on (at most to `cap`, its absolute end).
    pub async fn touch_session(
        &self,
        token_hash: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1",
        )
        .bind(token_hash)
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends one session, or every session of its user (`everywhere`).
    #[tracing::instrument(name = "store.end_sessions", skip_all)]
    pub async fn end_sessions(
        &self,
        token_hash: &str,
        everywhere: bool,
        audit: &AuditEntry<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let sql = if everywhere {
            "DELETE FROM console_sessions WHERE user_id = \
             (SELECT user_id FROM console_sessions WHERE token_hash = $1)"
        } else {
            "DELETE FROM console_sessions WHERE token_hash = $1"
        };
        sqlx::query(sql).bind(token_hash).execute(&mut *tx).await?;
        record(&mut tx, audit, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    /// Sessions a user has open now.
    pub async fn open_sessions(
        &self,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM console_sessions WHERE user_id = $1 AND expires_at > $2",
        )
        .bind(user.as_str())
        .bind(to_micros(now))
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn user_link(&self, id: &str) -> Result<OneTimeLink, StoreError> {
        let row: LinkRow = sqlx::query_as(
            "SELECT id, user_id, purpose, created_by, created_at, expires_at, used_at FROM console_links WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    /// Uses a one-time link: sets the user's password (and name, for an invitation), ends
    /// every other session of theirs and opens `session`, in one transaction. A link already
    /// used or expired is `NotFound`: nothing changes.
    #[tracing::instrument(name = "store.use_user_link", skip_all)]
    pub async fn use_user_link(
        &self,
        link_id: &str,
        password_hash: &str,
        name: Option<&str>,
        session: &Session,
        audit: &AuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let now = to_micros(session.created_at);
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let used = sqlx::query(
            "UPDATE console_links SET used_at = $2 WHERE id = $1 AND user_id = $3 \
             AND used_at IS NULL AND expires_at > $2",
        )
        .bind(link_id)
        .bind(now)
        .bind(session.user_id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE console_users SET password_hash = $2, name = COALESCE($3, name) \
             WHERE id = $1 AND disabled_at IS NULL",
        )
        .bind(session.user_id.as_str())
        .bind(password_hash)
        .bind(name.map(str::to_string))
        .execute(&mut *tx)
        .await?;
        // Every other link of the user goes with it: a reset link mailed earlier must not
        // reset the password just chosen.
        sqlx::query("UPDATE console_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
            .bind(session.user_id.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
            .bind(session.user_id.as_str())
            .execute(&mut *tx)
            .await?;
        insert_session(&mut tx, session).await?;
        record(&mut tx, audit, session.created_at).await?;
        tx.commit().await?;
        writer.finish().await?;
        Ok(())
    }

    /// Records a failed sign-in for the throttle.
    pub async fn record_sign_in_failure(
        &self,
        email: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO console_sign_in_failures (email, address, at) VALUES ($1, $2, $3)",
        )
        .bind(email)
        .bind(address)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Failed sign-ins since `since` for this address (any account) and for this account
    /// (from any address), and the oldest of each in the window (when the count falls).
    pub async fn sign_in_failures(
        &self,
        email: &str,
        address: &str,
        since: OffsetDateTime,
    ) -> Result<Failures, StoreError> {
        let count = |column: &'static str, value: &str| {
            let value = value.to_string();
            async move {
                let (n, oldest): (i64, Option<i64>) = sqlx::query_as(&format!(
                    "SELECT COUNT(*), MIN(at) FROM console_sign_in_failures WHERE {column} = $1 AND at > $2"
                ))
                .bind(value)
                .bind(to_micros(since))
                .fetch_one(&self.pool)
                .await?;
                Ok::<_, StoreError>((n, oldest.map(from_micros)))
            }
        };
        let (account, account_oldest) = count("email", email).await?;
        let (address, address_oldest) = count("address", address).await?;
        Ok(Failures {
            account,
            account_oldest,
            address,
            address_oldest,
        })
    }

    /// Forgets failed sign-ins older than `before` and sessions and links that ended.
    pub async fn purge_console(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sign_in_failures WHERE at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM console_links WHERE expires_at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Failed sign-ins in the throttle's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub account: i64,
    pub account_oldest: Option<OffsetDateTime>,
    pub address: i64,
    pub address_oldest: Option<OffsetDateTime>,
}

async fn insert_session(conn: &mut sqlx::AnyConnection, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&s.token_hash)
    .bind(s.user_id.as_str())
    .bind(&s.csrf_token)
    .bind(to_micros(s.created_at))
    .bind(to_micros(s.last_seen_at))
    .bind(to_micros(s.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the link and, when asked, its email job; true when a job was queued.
async fn insert_link(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
    link: &NewLink<'_>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    sqlx::query(
        "INSERT INTO console_links (id, user_id, purpose, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(link.id)
    .bind(user.as_str())
    .bind(link.purpose.as_str())
    .bind(link.created_by)
    .bind(to_micros(now))
    .bind(to_micros(link.expires_at))
    .execute(&mut *conn)
    .await?;
    if !link.email {
        return Ok(false);
    }
    let job = Job::ConsoleEmail {
        link_id: link.id.to_string(),
    };
    enqueue(conn, &job, now, now).await
}
