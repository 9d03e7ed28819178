//! Public program images: `/images/{program}/{file}`. Google Wallet fetches the class's logo
//! and hero image from here (image URLs in classes must be public), so this needs no key.
//! Uploaded images win over the ones drawn in the program's colours (`cards::Cards::image`).

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
use crate::wallet::apple::images::{file_name, ImageKind};
use crate::wallet::artwork::{GOOGLE_HERO, GOOGLE_LOGO};

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
        let names = [GOOGLE_LOGO, GOOGLE_HERO]
            .map(String::from)
            .into_iter()
            .chain(
                ImageKind::ALL
                    .into_iter()
                    .flat_map(|k| (1..=3).map(move |s| file_name(k, s))),
            );
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

/// A program image (public, for Google)
///
/// The program's images at public URLs, because Google Wallet downloads the images of a loyalty class itself (when the class is written): `google-logo.png` is the round logo Google shows (made from the icon), `google-hero.png` the banner (made from the strip); the pass image names serve those images as they are. An uploaded image is served if there is one, else the one drawn in the program's colours with its name. No key needed; answers carry `Cache-Control: public, max-age=3600`.
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
    let program = match state.store.program(&program).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return not_found(),
        Err(e) => {
            tracing::error!(error = ?e, "reading the program failed");
            return Ok(HttpResponse::InternalServerError().finish());
        }
    };
    match state.cards.image(&state.store, &program, &file).await {
        Ok(Some(png)) => Ok(HttpResponse::Ok()
            .content_type("image/png")
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(png)),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = ?e, "reading program images failed");
            Ok(HttpResponse::InternalServerError().finish())
        }
    }
}
