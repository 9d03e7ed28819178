//! Who is calling the API: the `Caller` extractor. Machines send a bearer API key, found by
//! the hash of the presented secret (revoked keys are refused). The console's pages send the
//! session cookie their user signed in with, and on every state-changing request the session's
//! CSRF token in `X-CSRF-Token`. Either way the caller has a role and an optional program
//! scope, and handlers check those the same way.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::Method;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::domain::api_key::{ApiKey, KeySecret, Role};
use crate::domain::ids::ProgramId;
use crate::domain::user::{role_label, tokens_match, Session, User};
use crate::http::error_code::ErrorCode;
use crate::state::AppState;
use crate::storage::StoreError;

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "pw_console";

/// The header a console page sends its session's CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// Who made a request: an API key or a signed-in console user.
#[derive(Debug, Clone)]
pub enum Principal {
    Key(ApiKey),
    User { user: User, session: Session },
}

/// The caller of a request, with the role and program scope every check looks at.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// The one program the caller may see; `None` for all.
    pub program_id: Option<ProgramId>,
    pub principal: Principal,
}

impl Caller {
    pub fn from_key(key: ApiKey) -> Caller {
        Caller {
            role: key.role,
            program_id: key.program_id.clone(),
            principal: Principal::Key(key),
        }
    }

    pub fn from_user(user: User, session: Session) -> Caller {
        Caller {
            role: user.role,
            program_id: user.program_id.clone(),
            principal: Principal::User { user, session },
        }
    }

    /// Refuses the request unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        Err(ApiError::forbidden(&match self.principal {
            Principal::Key(_) => format!("a {} key cannot do this", self.role.as_str()),
            Principal::User { .. } => {
                format!("a {} cannot do this", role_label(self.role).to_lowercase())
            }
        }))
    }

    /// Refuses the request if the caller is limited to another program.
    pub fn check_program(&self, program: &ProgramId) -> Result<(), ApiError> {
        if self.can_access(program) {
            Ok(())
        } else {
            Err(ApiError::forbidden(match self.principal {
                Principal::Key(_) => "this key is limited to another program",
                Principal::User { .. } => "your account is limited to another program",
            }))
        }
    }

    pub fn can_access(&self, program: &ProgramId) -> bool {
        self.program_id.as_ref().is_none_or(|p| p == program)
    }

    /// `api_key:<id>` or `user:<id>`, as ledger entries and the audit log record who acted.
    pub fn actor(&self) -> String {
        match &self.principal {
            Principal::Key(key) => format!("api_key:{}", key.id),
            Principal::User { user, .. } => user.actor(),
        }
    }

    /// The API key, for what only a key can do (a scan records the till's key).
    pub fn key(&self, what: &str) -> Result<&ApiKey, ApiError> {
        match &self.principal {
            Principal::Key(key) => Ok(key),
            Principal::User { .. } => Err(ApiError::forbidden(&format!(
                "{what} needs an API key; a console sign-in cannot do it"
            ))),
        }
    }
}

/// Whether a request with `method` changes something, and so needs the CSRF token.
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let authorization = header(actix_web::http::header::AUTHORIZATION.as_str());
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let csrf = header(CSRF_HEADER);
        let unsafe_method = changes_state(req.method());
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            match (authorization, cookie) {
                (Some(header), _) => key_caller(&state, &header).await,
                (None, Some(cookie)) => {
                    session_caller(&state, &cookie, csrf.as_deref(), unsafe_method).await
                }
                (None, None) => Err(ApiError::unauthorized(
                    "send an API key as Authorization: Bearer <key>",
                )),
            }
        })
    }
}

async fn key_caller(state: &AppState, header: &str) -> Result<Caller, ApiError> {
    let secret = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be Bearer <key>"))?;
    let hash = KeySecret::from_presented(secret).hash();
    let now = state.clock.now();
    let key = match state.api_keys.get(&hash, now) {
        Some(key) => key,
        None => match state.store.api_key_by_hash(&hash).await {
            Ok(key) => {
                state.api_keys.put(&hash, &key, now);
                key
            }
            Err(StoreError::NotFound) => return Err(ApiError::unauthorized("unknown API key")),
            Err(e) => return Err(e.into()),
        },
    };
    if key.revoked_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::ApiKeyRevoked,
            "this API key has been revoked",
        ));
    }
    Ok(Caller::from_key(key))
}

async fn session_caller(
    state: &AppState,
    cookie: &str,
    csrf: Option<&str>,
    unsafe_method: bool,
) -> Result<Caller, ApiError> {
    let Some((session, user)) = state.accounts.session(cookie).await? else {
        return Err(ApiError::unauthorized(
            "your console session has ended; sign in again",
        ));
    };
    if unsafe_method && !csrf.is_some_and(|t| tokens_match(t, &session.csrf_token)) {
        return Err(ApiError::new(
            ErrorCode::CsrfTokenMismatch,
            format!(
                "a change made with a console session must send its CSRF token as {CSRF_HEADER}"
            ),
        ));
    }
    Ok(Caller::from_user(user, session))
}
