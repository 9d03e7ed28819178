//! Public program images: `/images/{program}/{file}`. Google Wallet fetches the class's logo
//! and hero image from here (image URLs in classes must be public), so this needs no key.
//! Uploaded images win over the defaults in `templates/images`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::domain::ids::ProgramId;
use crate::state::AppState;
use crate::storage::StoreError;
use crate::wallet::apple::images::default_images;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/images/{program}/{file}", web::get().to(image));
}

/// Google's names for the images it shows, and the pass image each one is.
fn pass_image(file: &str) -> &str {
    match file {
        // Google masks the logo to a circle: the square icon fits that, the wide logo does not.
        "google-logo.png" => "icon@3x.png",
        "google-hero.png" => "strip@3x.png",
        other => other,
    }
}

async fn image(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, std::convert::Infallible> {
    let (program, file) = path.into_inner();
    let not_found = || {
        Ok(HttpResponse::NotFound()
            .content_type("text/plain")
            .body("no such image"))
    };
    let Ok(program) = ProgramId::parse(&program) else {
        return not_found();
    };
    let name = pass_image(&file);
    let Some((_, default)) = default_images().into_iter().find(|(n, _)| n == name) else {
        return not_found();
    };
    let uploaded = match state.store.images(&program).await {
        Ok(images) => images
            .into_iter()
            .find(|i| i.name == name)
            .map(|i| i.content),
        Err(StoreError::NotFound) => return not_found(),
        Err(e) => {
            tracing::error!(error = ?e, "reading program images failed");
            return Ok(HttpResponse::InternalServerError().finish());
        }
    };
    if uploaded.is_none() && state.store.program(&program).await.is_err() {
        return not_found();
    }
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(uploaded.unwrap_or(default)))
}
