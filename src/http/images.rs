//! Public program images: `/images/{program}/{file}`. Google Wallet fetches the class's logo
//! and hero image from here (image URLs in classes must be public), so this needs no key.
//! Uploaded images win over the defaults in `templates/images`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::OpenApi;

use super::openapi::const_string;
use super::routes::Routes;
use crate::domain::ids::ProgramId;
use crate::state::AppState;
use crate::storage::StoreError;
use crate::wallet::apple::images::default_images;

/// The area's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(image))]
pub struct Document;

/// Other methods answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes.add(__path_image, image);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes().register(cfg);
}

/// The file names served: Google's and the pass images'.
struct ImageFile;

impl utoipa::ToSchema for ImageFile {}

impl utoipa::PartialSchema for ImageFile {
    fn schema() -> RefOr<Schema> {
        let names = ["google-logo.png", "google-hero.png"]
            .map(String::from)
            .into_iter()
            .chain(default_images().into_iter().map(|(name, _)| name));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .into()
    }
}

/// A PNG body.
struct Png;

impl utoipa::ToSchema for Png {}

impl utoipa::PartialSchema for Png {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("image/png")
            .into()
    }
}

/// `Cache-Control` of an image.
struct PublicCache;

impl utoipa::ToSchema for PublicCache {}

impl utoipa::PartialSchema for PublicCache {
    fn schema() -> RefOr<Schema> {
        const_string("public, max-age=3600").into()
    }
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

/// A program image (public, for Google)
///
/// The program's images at public URLs, because Google Wallet downloads the images of a loyalty class itself (when the class is written): `google-logo.png` is the program logo Google shows (the `icon@3x.png` image: Google masks the logo to a circle, which fits the square icon), `google-hero.png` the banner (`strip@3x.png`); the pass image names serve those images as they are. An uploaded image is served if there is one, else the built-in default. No key needed; answers carry `Cache-Control: public, max-age=3600`.
#[utoipa::path(
    get,
    path = "/images/{program}/{file}",
    operation_id = "getProgramImage",
    tag = "google",
    params(
        ("program" = String, Path, description = "The program's id."),
        ("file" = inline(ImageFile), Path, description = "The image: one of Google's names or a pass image name."),
    ),
    responses(
        (status = 200, description = "The PNG image.", body = inline(Png), content_type = "image/png", headers(("Cache-Control" = inline(PublicCache), description = "`public, max-age=3600`."))),
        (status = 404, description = "No such program (or a malformed id), or not an image name above. The body says so in plain text.", body = String, content_type = "text/plain"),
        (status = 500, description = "Reading the program's images failed.", body = String, content_type = "text/plain"),
    ),
    security(),
)]
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
