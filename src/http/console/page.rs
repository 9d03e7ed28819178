//! Who a console page is for: the signed-in person (`SignedIn`, an extractor that sends
//! everyone else to the sign-in page), the CSRF check of their forms, and the session cookie.
//! Rendering is `html`'s.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde_json::{json, Value};

use super::ConsoleError;
use crate::domain::api_key::Role;
use crate::domain::user::{role_label, tokens_match, Session, User};
use crate::http::auth::SESSION_COOKIE;
use crate::state::AppState;

/// The cookie holding a new session's token.
pub fn session_cookie(state: &AppState, token: &str) -> Cookie<'static> {
    let hours = i64::from(state.accounts.settings.session_max_hours);
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.cards.urls().base().starts_with("https://"))
        .max_age(CookieDuration::hours(hours))
        .finish()
}

/// The cookie that removes the session's from the browser.
pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, "");
    cookie.make_removal();
    cookie
}

/// The person a page is for: their live session and account. Anyone else is sent to the
/// sign-in page, which brings them back here afterwards.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

impl SignedIn {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_form(&self, csrf: &str) -> Result<(), ConsoleError> {
        if tokens_match(csrf, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(ConsoleError::StaleForm)
        }
    }

    /// Refuses the page unless the person is an owner (an admin of every program).
    pub fn require_owner(&self) -> Result<(), ConsoleError> {
        if self.user.is_owner() {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "Only an owner of the console can open this page.",
            ))
        }
    }

    /// Whether the person may create programs and change how cards look.
    pub fn can_design(&self) -> bool {
        matches!(self.user.role, Role::Admin | Role::Marketer)
    }

    /// Whether the person may read the reports.
    pub fn can_report(&self) -> bool {
        matches!(self.user.role, Role::Admin | Role::Marketer)
    }

    /// The context every signed-in page's template starts from: who is signed in, the form
    /// token, and which section of the navigation is current.
    pub fn context(&self, section: &str) -> Value {
        json!({
            "user": {
                "name": self.user.name,
                "email": self.user.email,
                "role": role_label(self.user.role),
                "is_owner": self.user.is_owner(),
                "can_report": self.can_report(),
            },
            "csrf": self.session.csrf_token,
            "section": section,
            "notice": Value::Null,
        })
    }
}

/// Where the sign-in page sends someone back to: a path of the console, nowhere else.
pub fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
                && !n.contains("//")
                && !n.contains('\\') =>
        {
            n.to_string()
        }
        _ => "/console".to_string(),
    }
}

impl FromRequest for SignedIn {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<SignedIn, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        // Only a page is worth coming back to; after a form, the page it was on.
        let here = if req.method() == actix_web::http::Method::GET {
            req.uri()
                .path_and_query()
                .map_or("/console", |p| p.as_str())
                .to_string()
        } else {
            "/console".to_string()
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let found = match cookie {
                Some(cookie) => state.accounts.session(&cookie).await?,
                None => None,
            };
            match found {
                Some((session, user)) => Ok(SignedIn { session, user }),
                None => Err(ConsoleError::SignIn { next: here }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        assert_eq!(local_next(Some("/console/users")), "/console/users");
        assert_eq!(local_next(Some("/console?x=1")), "/console?x=1");
        assert_eq!(local_next(Some("/console")), "/console");
        for bad in [
            "https://evil.example/console",
            "//evil.example",
            "/console//evil.example",
            "/consoleevil",
            "/console/\\evil",
            "/api/v1/keys",
        ] {
            assert_eq!(local_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(local_next(None), "/console");
    }
}
