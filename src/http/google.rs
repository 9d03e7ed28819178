//! `POST /google/callbacks`: Google tells us a card was saved to or deleted from a wallet.
//! The body is verified (ECv2SigningOnly: Google's root keys, the intermediate key, our issuer
//! id) before anything is read from it, and each nonce is recorded once, so a replay is
//! refused. Answers carry no body; Google only looks at the status.

use actix_web::{web, HttpResponse};

use crate::state::AppState;
use crate::wallet::google::callback::CallbackEvent;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/google/callbacks")
            .app_data(web::PayloadConfig::new(64 * 1024))
            .route(web::post().to(callback)),
    );
}

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
