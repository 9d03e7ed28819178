//! `GET /c/{code}`: the landing page. An enrollment link shows the sign-up form; a card link
//! shows the member's card and the wallet buttons, the visitor's own wallet first. On a
//! desktop both follow a QR code that opens the same page on a phone. Every visit is recorded
//! as `clicked`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::form::{EnrollForm, FieldError};
use super::{html, live_link, platform, LandingError};
use crate::domain::distribution::{LinkKind, Platform};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Program;
use crate::qr::QrMatrix;
use crate::state::AppState;
use crate::storage::{LinkAction, LinkRecord, MemberKey};

/// Landing page (public)
///
/// What a customer sees after following a link. An enrollment link shows the sign-up form; a
/// personal card link shows the member's card (name, points, tier) with "Add to Apple Wallet"
/// and "Save to Google Wallet" buttons, the visitor's own platform first (from the User-Agent);
/// on a desktop, a QR code opens the same page on a phone. Server-rendered, no JavaScript. Each
/// visit records a `clicked` link event. See docs/LANDING.md.
#[utoipa::path(
    get,
    path = "/c/{code}",
    operation_id = "getLandingPage",
    tag = "landing",
    security(),
    params(
        ("code" = String, Path, description = "The link's code (the last part of its URL)."),
    ),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html", headers(("Content-Security-Policy" = String, description = "No script; the page's one inline style element allowed by its hash."))),
        (status = 404, description = "No such link (or the code does not parse): a page saying so.", body = String, content_type = "text/html"),
        (status = 410, description = "The link was revoked (\"This link is no longer valid\"), or the member's card was cancelled.", body = String, content_type = "text/html"),
        (status = 500, description = "Something went wrong on our side (logged).", body = String, content_type = "text/html"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    code: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, LandingError> {
    let link = live_link(&state, &code).await?;
    let platform = platform(&req);
    let now = state.clock.now();
    match link.kind {
        LinkKind::Enroll => {
            let program = state.store.program(&link.program_id).await?;
            state
                .store
                .record_link_event(&link, LinkAction::Clicked, platform, None, now)
                .await?;
            enroll_page(
                &state,
                &link,
                &program,
                platform,
                &EnrollForm::default(),
                &[],
            )
        }
        LinkKind::Card => {
            let member = link
                .member_id
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("card link without a member"))?;
            let (member, program) = state
                .store
                .member_and_program(MemberKey::Id(member))
                .await?;
            state
                .store
                .record_link_event(&link, LinkAction::Clicked, platform, Some(&member.id), now)
                .await?;
            if member.status == MemberStatus::Voided {
                return Err(LandingError::Cancelled);
            }
            card_page(&state, &link, &program, &member, platform)
        }
    }
}

/// What every landing page of `link` knows: its code and, on a desktop, the QR code that
/// opens it on a phone.
fn common(state: &AppState, link: &LinkRecord, platform: Platform) -> Result<Value, LandingError> {
    let url = state.cards.urls().link(&link.code);
    Ok(json!({
        "code": link.code,
        "platform": platform.as_str(),
        "qr_svg": handoff_qr(&url, platform)?,
        "url": url,
    }))
}

/// On a desktop, the QR code (SVG) that opens `url` on a phone.
pub(super) fn handoff_qr(url: &str, platform: Platform) -> Result<Option<String>, LandingError> {
    Ok(if platform == Platform::Desktop {
        Some(QrMatrix::new(url)?.svg(200, "QR code that opens this page on a phone"))
    } else {
        None
    })
}

/// The sign-up form, as new (200) or with what was typed and its problems (422).
pub fn enroll_page(
    state: &AppState,
    link: &LinkRecord,
    program: &Program,
    platform: Platform,
    form: &EnrollForm,
    errors: &[FieldError],
) -> Result<HttpResponse, LandingError> {
    let mut context = common(state, link, platform)?;
    context["form"] = form.context(errors);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html::program_page(
        status,
        "pages/landing_enroll.html",
        program,
        context,
    ))
}

/// A wallet button: Apple's and Google's wording, exactly.
fn button(id: &str, href: String, label: &str) -> Value {
    json!({ "id": id, "href": href, "label": label })
}

/// The wallet buttons of a card page under `base` (`{base}/apple.pkpass`,
/// `{base}/google`), the visitor's own wallet first; Google's only when it is set up.
pub(super) fn wallet_buttons(state: &AppState, platform: Platform, base: &str) -> Value {
    let apple = button(
        "apple-wallet",
        format!("{base}/apple.pkpass"),
        "Add to Apple Wallet",
    );
    let google = state.google.is_some().then(|| {
        button(
            "google-wallet",
            format!("{base}/google"),
            "Save to Google Wallet",
        )
    });
    let buttons: Vec<Value> = match (platform, google) {
        (Platform::Android, Some(google)) => vec![google, apple],
        (_, Some(google)) => vec![apple, google],
        (_, None) => vec![apple],
    };
    json!(buttons)
}

fn card_page(
    state: &AppState,
    link: &LinkRecord,
    program: &Program,
    member: &Member,
    platform: Platform,
) -> Result<HttpResponse, LandingError> {
    let mut context = common(state, link, platform)?;
    context["buttons"] = wallet_buttons(state, platform, &format!("/c/{}", link.code));
    context["google_available"] = json!(state.google.is_some());
    context["member"] = json!({
        "name": member.name,
        "balance": member.balance,
        "tier": member.tier,
    });
    Ok(html::program_page(
        StatusCode::OK,
        "pages/landing_card.html",
        program,
        context,
    ))
}
