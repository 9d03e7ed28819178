//! The public landing pages under `/c/{code}`: what a customer sees after following a link from
//! an email, an SMS or a poster. An enrollment link shows a sign-up form; a personal card link
//! shows the member's card with "Add to Apple Wallet" and "Save to Google Wallet" buttons,
//! ordered for the visitor's phone. Server-rendered HTML without JavaScript; every visit and
//! every wallet hand-off is recorded against the link for attribution.

mod client;
mod enroll;
mod error;
mod form;
mod html;
mod page;
mod qr;
mod wallet;

use actix_web::{web, HttpRequest};

pub use error::LandingError;

use crate::domain::distribution::{LinkCode, Platform};
use crate::http::limits::LandingLimits;
use crate::state::AppState;
use crate::storage::{LinkRecord, StoreError};

pub fn configure(cfg: &mut web::ServiceConfig, limits: web::Data<LandingLimits>) {
    cfg.service(
        web::resource("/c/{code}")
            .app_data(web::FormConfig::default().limit(16 * 1024))
            .app_data(limits)
            .route(web::get().to(page::show))
            .route(web::post().to(enroll::submit)),
    )
    .route("/c/{code}/qr.svg", web::get().to(qr::svg))
    .route("/c/{code}/qr.png", web::get().to(qr::png))
    .route("/c/{code}/apple.pkpass", web::get().to(wallet::apple))
    .route("/c/{code}/google", web::get().to(wallet::google));
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
