//! `POST /google/callbacks`: Google tells us a card was saved to or deleted from a wallet.
//! The body is verified (ECv2SigningOnly: Google's root keys, the intermediate key, our issuer
//! id) before anything is read from it, and each nonce is recorded once, so a replay is
//! refused. Answers carry no body; Google only looks at the status.

use actix_web::{web, HttpResponse};
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::OpenApi;

use super::openapi::const_string;
use super::openapi::responses::{WalletInternalError, WalletPayloadTooLarge};
use super::routes::Routes;
use crate::state::AppState;
use crate::wallet::google::callback::CallbackEvent;

/// The area's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(callback))]
pub struct Document;

/// Other methods answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes.add(__path_callback, callback);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut routes = routes();
    routes.app_data(__path_callback, web::PayloadConfig::new(64 * 1024));
    routes.register(cfg);
}

/// What Google posts, for the document: the handler reads bytes and
/// `wallet::google::callback` parses and verifies them.
struct CallbackBody;

impl utoipa::PartialSchema for CallbackBody {
    fn schema() -> RefOr<Schema> {
        let string = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        let key = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "signedKey",
                string("JSON text: `{\"keyValue\": <base64 P-256 public key>, \"keyExpiration\": <milliseconds>}`."),
            )
            .required("signedKey")
            .property(
                "signatures",
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("Base64 signatures of the key by Google's root keys.")),
            )
            .required("signatures")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Google's `ECv2SigningOnly` envelope, as Google posts it. Other fields are ignored.",
            ))
            .property(
                "signature",
                string("Base64 ECDSA-SHA256 signature of the message by the intermediate key."),
            )
            .required("signature")
            .property("intermediateSigningKey", key)
            .required("intermediateSigningKey")
            .property("protocolVersion", const_string("ECv2SigningOnly"))
            .required("protocolVersion")
            .property(
                "signedMessage",
                string("JSON text: `{\"classId\", \"objectId\", \"expTimeMillis\", \"eventType\": \"save\" | \"del\", \"nonce\"}`."),
            )
            .required("signedMessage")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl utoipa::ToSchema for CallbackBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "GoogleCallback".into()
    }
}

/// Save/delete callback (Google)
///
/// Google tells us that a card was saved to or deleted from a wallet. The URL is given to Google as the loyalty class's `callbackOptions.url` (`<server.public_base_url>/google/callbacks`) only when `google.callback_keys_file` is set; without it (or without Google Wallet) this path answers 404.
///
/// The body is Google's `ECv2SigningOnly` envelope and is verified before anything in it is read: the intermediate signing key must be signed by one of Google's root keys (from `google.callback_keys_file`) for one of `google.callback_sender_ids`, must not have expired, and must have signed the message for our issuer id; the message must not have expired and its `eventType` must be `save` or `del`. Each `nonce` is recorded once, so a callback Google repeats (or anyone replays) is refused; a save or delete of one of our objects is noted on it. No key: the signature is the credential. The body is read as bytes whatever its `Content-Type`. Answers are bare status codes (Google only looks at the status); why a callback was refused is logged.
#[utoipa::path(
    post,
    path = "/google/callbacks",
    operation_id = "receiveGoogleCallback",
    tag = "google",
    request_body = CallbackBody,
    responses(
        (status = 200, description = "Verified and recorded. No body."),
        (status = 400, description = "Not a valid callback: malformed, another protocol version, a signature that does not verify (also a callback for another issuer), an expired intermediate key or message, or an unknown event type. No body."),
        (status = 404, description = "Callbacks are not configured (no `google.callback_keys_file`, or Google Wallet is off). No body.", body = String, content_type = "text/plain"),
        (status = 409, description = "This nonce was received before: a repeated or replayed callback. Nothing is recorded. No body."),
        (status = 413, response = WalletPayloadTooLarge),
        (status = 500, response = WalletInternalError),
    ),
    security(),
)]
async fn callback(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(verifier) = state.google.as_ref().and_then(|g| g.verifier()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("Google Wallet callbacks are not configured");
    };
    let now = state.clock.now();
    let message = match verifier.verify(&body, now) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "Google callback refused");
            return HttpResponse::BadRequest().finish();
        }
    };
    let saved = message.event == CallbackEvent::Saved;
    match state
        .store
        .record_google_callback(
            &message.nonce,
            &message.object_id,
            &message.class_id,
            saved,
            now,
        )
        .await
    {
        Ok(true) => {
            tracing::info!(object = message.object_id, saved, "Google Wallet callback");
            HttpResponse::Ok().finish()
        }
        Ok(false) => {
            tracing::warn!(
                object = message.object_id,
                "Google callback replayed; refused"
            );
            HttpResponse::Conflict().finish()
        }
        Err(e) => {
            tracing::error!(error = ?e, "recording a Google callback failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
