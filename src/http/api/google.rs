//! "Save to Google Wallet" links for members. With Google's API configured, asking for the
//! link inserts the member's loyalty object first (so the link only names it) and from then
//! on every change of the member is sent to Google through the outbox.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{load, READ};
use crate::cards::google::{GoogleCardError, SaveLinkMode};
use crate::domain::ids::MemberId;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::openapi::responses::KeyRefusals;
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::wallet::google::save_link::SaveLinkError;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(save_link))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_save_link, save_link);
}

/// A member's "Save to Google Wallet" link.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = GoogleSaveLink)]
struct SaveLinkView {
    #[schema(inline)]
    mode: Mode,
    /// `https://pay.google.com/gp/v/save/<JWT>`: opening it on a phone or in a browser offers to save the card to Google Wallet. At most 1,800 characters.
    #[schema(format = "uri")]
    save_url: String,
}

/// `skinny`: the object was written through Google's API and the link names it; Google's
/// copy is kept current. `full`: the link carries the whole class and object (no API
/// configured); Google's copy is never updated.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Skinny,
    Full,
}

/// Get a "Save to Google Wallet" link
///
/// A link (`https://pay.google.com/gp/v/save/<JWT>`, signed with the service account's key)
/// that adds the member's card to Google Wallet. Takes no body; ask again whenever a link is
/// needed.
///
/// - With Google's API (`google.api_url`, the default): the program's loyalty class is written and the member's loyalty object inserted (or, if Google has it, patched) before the link is made, and the link only names the object (`mode: skinny`). From then on every change of the member (points, details, tier, voiding) is sent to Google through the outbox. If Google does not accept the class or object, the answer is 503 `google_unavailable` and no link is given.
/// - Without it (`google.api_url` empty): the link carries the whole class and object (`mode: full`), which Google creates when the link is opened. Google's limit for a link is 1,800 characters: when the whole card does not fit, the link carries only its essentials (no translations, hero image, text or link modules); when even that is too long the answer is 422 `save_link_too_long`. Nothing is updated on Google's side later.
///
/// A voided (cancelled) card gets no link: 409 `member_voided`. Should Google have lost the
/// program's class (deleted in its console), the class is written again and the object
/// inserted once more.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/google",
    operation_id = "createGoogleSaveLink",
    tag = "google",
    params(("id" = MemberId, Path, description = "The member's id.")),
    responses(
        (status = 200, description = "The link.", body = SaveLinkView),
        (status = 404, description = "`not_found`: no such member.", body = ErrorBody),
        (status = 409, description = "`google_not_configured`: Google Wallet is not configured (`google.issuer_id` is empty); `member_voided`: the card was cancelled.", body = ErrorBody),
        (status = 422, description = "`save_link_too_long`: without Google's API, even the card's essentials make a link longer than the 1,800 characters Google allows; configure `google.api_url` so links carry only the object's id.", body = ErrorBody),
        (status = 503, description = "`google_unavailable`: Google's API refused the class or object, or did not answer (the reason is logged); try again shortly.", body = ErrorBody),
        KeyRefusals,
    )
)]

async fn save_link(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let Some(google) = &state.google else {
        return Err(ApiError::new(
            ErrorCode::GoogleNotConfigured,
            "Google Wallet is not configured (google.issuer_id)",
        ));
    };
    let link = google
        .save_link(
            &state.store,
            &state.cards,
            &program,
            &member,
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            GoogleCardError::Link(SaveLinkError::TooLong { length }) => ApiError::new(
                ErrorCode::SaveLinkTooLong,
                format!(
                    "the save link would be {length} characters, more than the 1800 Google allows; \
                     configure Google's API (google.api_url) so links carry only the object's id"
                ),
            ),
            GoogleCardError::Voided => ApiError::new(
                ErrorCode::MemberVoided,
                "the member's card was cancelled: a cancelled card gets no save link",
            ),
            GoogleCardError::Api(reason) => {
                tracing::warn!(reason, "Google Wallet refused or did not answer");
                ApiError::new(
                    ErrorCode::GoogleUnavailable,
                    "Google Wallet did not accept the card just now; try again shortly",
                )
            }
            other => ApiError::Unexpected(anyhow::Error::new(other)),
        })?;
    Ok(HttpResponse::Ok().json(SaveLinkView {
        mode: match link.mode {
            SaveLinkMode::Skinny => Mode::Skinny,
            SaveLinkMode::Full => Mode::Full,
        },
        save_url: link.url,
    }))
}
