//! The public landing pages under `/c/{code}`: what a customer sees after following a link from
//! an email, an SMS or a poster. An enrollment link shows a sign-up form; a personal card link
//! shows the member's card with "Add to Apple Wallet" and "Save to Google Wallet" buttons,
//! ordered for the visitor's phone. A sample link (`/sample/{token}`, sent from the card
//! designer) shows a made-up member's card the same way. Server-rendered HTML without JavaScript; every visit and
//! every wallet hand-off is recorded against the link for attribution.

mod enroll;
mod error;
mod form;
mod html;
mod page;
mod qr;
mod sample;
mod wallet;

use actix_web::{web, HttpRequest};
use utoipa::OpenApi;

pub use error::LandingError;

use crate::domain::distribution::{LinkCode, Platform};
use crate::http::limits::LandingLimits;
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::storage::{LinkRecord, StoreError};

/// The pages' operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(
    page::show,
    enroll::submit,
    qr::svg,
    qr::png,
    wallet::apple,
    wallet::google,
    sample::show,
    sample::apple,
    sample::google
))]
pub struct Document;

/// The landing routes, without the limits the running service gives the form. Other methods
/// answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes
        .add(page::__path_show, page::show)
        .add(enroll::__path_submit, enroll::submit)
        .add(qr::__path_svg, qr::svg)
        .add(qr::__path_png, qr::png)
        .add(wallet::__path_apple, wallet::apple)
        .add(wallet::__path_google, wallet::google)
        .add(sample::__path_show, sample::show)
        .add(sample::__path_apple, sample::apple)
        .add(sample::__path_google, sample::google);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig, limits: web::Data<LandingLimits>) {
    let mut routes = routes();
    routes
        .app_data(
            page::__path_show,
            web::FormConfig::default().limit(16 * 1024),
        )
        .app_data(page::__path_show, limits);
    routes.register(cfg);
}

/// The link behind `code` while it still opens something: unknown codes are 404, revoked
/// links 410.
async fn live_link(state: &AppState, code: &str) -> Result<LinkRecord, LandingError> {
    let code = LinkCode::parse(code).map_err(|_| LandingError::NotFound)?;
    let link = match state.store.link(&code).await {
        Ok(link) => link,
        Err(StoreError::NotFound) => return Err(LandingError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if link.revoked_at.is_some() {
        return Err(LandingError::Revoked);
    }
    Ok(link)
}

/// The visitor's kind of device, from the User-Agent.
fn platform(req: &HttpRequest) -> Platform {
    let ua = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Platform::from_user_agent(ua)
}
