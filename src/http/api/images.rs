//! Card images: a program uploads one logo, icon or strip (PNG or JPEG) and passwright makes
//! every scale and Google's image from it (`PUT .../artwork/{kind}`); or, for who has them,
//! one PNG per slot at @1x/@2x/@3x. Whatever is not uploaded is drawn in the program's colours
//! (`wallet::artwork::drawn`).

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{load, MANAGE, READ};
use crate::domain::ids::ProgramId;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError, ErrorBody};
use crate::http::error_code::ErrorCode;
use crate::http::limits::ImageLimits;
use crate::http::openapi::responses::KeyRefusals;
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::wallet::apple::images::{file_name, validate_png, ImageKind, MAX_PNG_BYTES};
use crate::wallet::artwork::{self, ArtworkError, Made};

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(list, put_artwork, put, delete))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_list, list)
        .add(__path_put_artwork, put_artwork)
        .add(__path_put, put)
        .add(__path_delete, delete);
}

/// An image slot's file name, e.g. `logo@2x.png`.
#[derive(Serialize)]
#[serde(transparent)]
struct ImageName(String);

impl utoipa::PartialSchema for ImageName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("The uploaded file's name."))
            .enum_values(Some(all_names()))
            .into()
    }
}

impl ToSchema for ImageName {}

/// The nine slots' file names: icon, logo, strip at @1x, @2x, @3x.
fn all_names() -> impl Iterator<Item = String> {
    ImageKind::ALL
        .into_iter()
        .flat_map(|k| (1..=3).map(move |s| file_name(k, s)))
}

/// Where a slot's image comes from.
fn any_source() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["uploaded", "default"]))
        .description(Some(
            "`default` means the image drawn in the program's colours with its name is used.",
        ))
        .build()
}

fn uploaded() -> utoipa::openapi::Object {
    one_string("uploaded")
}

fn default_source() -> utoipa::openapi::Object {
    one_string("default")
}

/// A string that is always `value` (a `const`).
fn one_string(value: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([value]))
        .build()
}

#[derive(Serialize, ToSchema)]
struct ImageSlot {
    name: ImageName,
    #[schema(schema_with = any_source)]
    source: &'static str,
}

#[derive(Serialize, ToSchema)]
struct ImageList {
    /// All nine slots (icon, logo, strip at @1x, @2x, @3x).
    images: Vec<ImageSlot>,
}

// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct ImageUploaded {
    /// Pixels.
    height: u32,
    name: ImageName,
    #[schema(schema_with = uploaded)]
    source: &'static str,
    /// Pixels.
    width: u32,
}

#[derive(Serialize, ToSchema)]
struct ImageDeleted {
    name: ImageName,
    #[schema(schema_with = default_source)]
    source: &'static str,
}

/// The slot a path names: a kind, a scale, and `.png`, the last two optional.
struct SlotName;

impl utoipa::PartialSchema for SlotName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^(icon|logo|strip)(@[23]x)?(\.png)?$"))
            .examples(["logo", "logo@2x", "strip@3x.png"])
            .into()
    }
}

impl ToSchema for SlotName {}

/// The body of an upload: the PNG itself.
struct Png;

impl utoipa::PartialSchema for Png {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("image/png")
            .into()
    }
}

impl ToSchema for Png {}

/// `logo`, `logo@2x`, `logo@3x.png` -> (kind, scale).
fn parse_name(name: &str) -> Result<(ImageKind, u8), ApiError> {
    let stem = name.strip_suffix(".png").unwrap_or(name);
    let (base, scale) = match stem.split_once('@') {
        Some((base, "2x")) => (base, 2),
        Some((base, "3x")) => (base, 3),
        Some(_) => return Err(ApiError::not_found("image slot")),
        None => (stem, 1),
    };
    let kind = ImageKind::ALL
        .into_iter()
        .find(|k| k.base_name() == base)
        .ok_or_else(|| ApiError::not_found("image slot"))?;
    Ok((kind, scale))
}

/// List image slots
///
/// The nine image slots and whether each uses an uploaded image or the built-in default.
///
/// Roles: `admin`, `marketer`, `staff`.
#[utoipa::path(
    get,
    path = "/api/v1/programs/{id}/images",
    operation_id = "listImages",
    tag = "images",
    params(("id" = ProgramId, Path, description = "The program's id.")),
    responses(
        (status = 200, description = "The image slots.", body = ImageList),
        (status = 404, description = "`not_found`: no such program.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    let uploaded: Vec<String> = state
        .store
        .images(&program.id)
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect();
    let images = all_names()
        .map(|name| ImageSlot {
            source: if uploaded.contains(&name) {
                "uploaded"
            } else {
                "default"
            },
            name: ImageName(name),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ImageList { images }))
}

/// The kind a path names: `icon`, `logo` or `strip`.
struct KindName;

impl utoipa::PartialSchema for KindName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["icon", "logo", "strip"]))
            .into()
    }
}

impl ToSchema for KindName {}

/// The body of an artwork upload: a PNG or a JPEG.
struct Picture;

impl utoipa::PartialSchema for Picture {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("image/*")
            .description(Some("The PNG or JPEG file itself."))
            .into()
    }
}

impl ToSchema for Picture {}

/// One image made from an upload.
#[derive(Serialize, ToSchema)]
struct MadeImage {
    /// `logo@2x.png`, or Google's `google-logo.png` (from the icon) and `google-hero.png`
    /// (from the strip).
    name: String,
    /// Pixels.
    width: u32,
    /// Pixels.
    height: u32,
}

#[derive(Serialize, ToSchema)]
struct ArtworkMade {
    #[schema(value_type = KindName)]
    kind: &'static str,
    /// Every file the upload made, all now in use.
    images: Vec<MadeImage>,
}

/// Reads the body up to `limit` bytes (413 beyond).
async fn body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(ErrorCode::BadBody, e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn content_type(req: &HttpRequest) -> &str {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn invalid_image(e: ArtworkError) -> ApiError {
    ApiError::new(ErrorCode::InvalidImage, e.to_string())
}

/// Image work takes tens of milliseconds of CPU: off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ArtworkError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("image task failed: {e}")))?
        .map_err(invalid_image)
}

/// Upload a logo, icon or strip
///
/// One PNG or JPEG (`image/png` or `image/jpeg`), of any size up to 25 megapixels, becomes
/// every scale Apple Wallet needs (@1x, @2x, @3x) and, for the icon and the strip, the image
/// Google Wallet shows (`google-logo.png`, `google-hero.png`). The picture is turned upright
/// (EXIF orientation), scaled with Lanczos3 (alpha kept), and encoded afresh: nothing of the
/// file but its pixels is published. The icon is fitted inside a square (padded with
/// transparency), the logo inside 160x50 points, the strip is cropped around its centre to
/// 375x123 points. Refused (422 `invalid_image`, with a message to show as it is): not a PNG
/// or JPEG, animated, damaged, more than 25 megapixels, or too small for @3x (icon 87x87,
/// logo 480 wide or 150 tall, strip 1125x369 pixels). Bumps `design_version` once; cards
/// update through the outbox.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/artwork/{kind}",
    operation_id = "uploadArtwork",
    tag = "images",
    params(("id" = ProgramId, Path, description = "The program's id."), ("kind" = inline(KindName), Path, description = "Which image. Any other name answers 404.")),
    request_body(content = inline(Picture), content_type = "image/*"),
    responses(
        (status = 200, description = "Every image made, now in use.", body = ArtworkMade),
        (status = 400, description = "`bad_body`: the body could not be read.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such program, or no such kind.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the file is larger than the configured limit (`server.max_image_bytes`, 10 MiB by default).", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not sent as `image/png` or `image/jpeg`.", body = ErrorBody),
        (status = 422, description = "`invalid_image`: the message says why and what to do.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn put_artwork(
    state: web::Data<AppState>,
    limits: web::Data<ImageLimits>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (id, kind) = path.into_inner();
    let program = load::program(&state, &caller, &id).await?;
    let kind = ImageKind::ALL
        .into_iter()
        .find(|k| k.base_name() == kind)
        .ok_or_else(|| ApiError::not_found("image kind"))?;
    let ctype = content_type(&req);
    if !["image/png", "image/jpeg", "image/jpg"]
        .iter()
        .any(|t| ctype.starts_with(t))
    {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "upload the image as image/png or image/jpeg",
        ));
    }
    let bytes = body(payload, limits.max_bytes).await?;
    let made: Vec<Made> = blocking(move || artwork::from_upload(kind, &bytes)).await?;
    let files: Vec<(String, Vec<u8>)> = made
        .iter()
        .map(|m| (m.name.clone(), m.png.clone()))
        .collect();
    state
        .store
        .replace_images(&program.id, &files, &[], state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(ArtworkMade {
        kind: kind.base_name(),
        images: made
            .into_iter()
            .map(|m| MadeImage {
                name: m.name,
                width: m.width,
                height: m.height,
            })
            .collect(),
    }))
}

/// Upload a card image for one slot
///
/// Uploads the PNG for one slot, replacing any earlier upload. The body is the PNG itself,
/// sent as `image/png`, at most 4 MiB. It must decode completely and fit the slot (in points,
/// times the scale): icon square, 29 to 58; logo 10x10 to 160x50; strip 160x40 to 375x144. It
/// is stored re-encoded (pixels only). The kind's other scales that still had no upload are
/// made from it, so a card never mixes the brand's image with the default; Google's image of
/// the kind is then the @3x one. Most callers want `PUT .../artwork/{kind}` instead, which makes
/// every scale from one file of any size. Bumps `design_version`.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    put,
    path = "/api/v1/programs/{id}/images/{name}",
    operation_id = "uploadImage",
    tag = "images",
    params(("id" = ProgramId, Path, description = "The program's id."), ("name" = inline(SlotName), Path, description = "The image slot: `icon`, `logo` or `strip`, optionally with `@2x` or `@3x`, optionally ending in `.png`. Any other name answers 404.")),
    request_body(content = inline(Png), content_type = "image/png"),
    responses(
        (status = 200, description = "The stored image.", body = ImageUploaded),
        (status = 400, description = "`bad_body`: the body could not be read.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such program, or no such image slot.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the image is larger than 4 MiB (or the configured `server.max_image_bytes`, if lower).", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body was not sent as `image/png`.", body = ErrorBody),
        (status = 422, description = "`invalid_image`: not a PNG, corrupt, or the wrong size for the slot.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn put(
    state: web::Data<AppState>,
    limits: web::Data<ImageLimits>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (id, name) = path.into_inner();
    let program = load::program(&state, &caller, &id).await?;
    let (kind, scale) = parse_name(&name)?;
    if !content_type(&req).starts_with("image/png") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "upload the image as image/png",
        ));
    }
    let body = body(payload, limits.max_bytes.min(MAX_PNG_BYTES)).await?;
    let info = validate_png(kind, scale, &body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidImage, e.to_string()))?;
    let stored: Vec<String> = state
        .store
        .images(&program.id)
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect();
    let name = file_name(kind, scale);
    let files = blocking(move || {
        let mut files = vec![(file_name(kind, scale), artwork::reencoded(&body)?)];
        for other in artwork::other_scales(kind, scale, &body)? {
            if !stored.contains(&other.name) {
                files.push((other.name, other.png));
            }
        }
        Ok(files)
    })
    .await?;
    let google: Vec<String> = artwork::google_name(kind)
        .map(str::to_owned)
        .into_iter()
        .collect();
    state
        .store
        .replace_images(&program.id, &files, &google, state.clock.now())
        .await
        .map_err(|e| store_error(e, "program"))?;
    Ok(HttpResponse::Ok().json(ImageUploaded {
        height: info.height,
        name: ImageName(name),
        source: "uploaded",
        width: info.width,
    }))
}

/// Remove an uploaded image
///
/// Removes the uploaded images of the slot's kind at every scale (and Google's image of it),
/// so the kind is drawn in the program's colours again: a card never mixes the two.
///
/// Roles: `admin`, `marketer`.
#[utoipa::path(
    delete,
    path = "/api/v1/programs/{id}/images/{name}",
    operation_id = "deleteImage",
    tag = "images",
    params(("id" = ProgramId, Path, description = "The program's id."), ("name" = inline(SlotName), Path, description = "The image slot: `icon`, `logo` or `strip`, optionally with `@2x` or `@3x`, optionally ending in `.png`. Any other name answers 404.")),
    responses(
        (status = 200, description = "The slot now uses the default.", body = ImageDeleted),
        (status = 404, description = "`not_found`: no such program, no such image slot, or nothing uploaded for it.", body = ErrorBody),
        KeyRefusals,
    )
)]
async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (id, name) = path.into_inner();
    let program = load::program(&state, &caller, &id).await?;
    let (kind, scale) = parse_name(&name)?;
    let name = file_name(kind, scale);
    if !state
        .store
        .replace_images(
            &program.id,
            &[],
            &artwork::files_of(kind),
            state.clock.now(),
        )
        .await?
    {
        return Err(ApiError::not_found("uploaded image"));
    }
    Ok(HttpResponse::Ok().json(ImageDeleted {
        name: ImageName(name),
        source: "default",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        assert_eq!(parse_name("logo").unwrap(), (ImageKind::Logo, 1));
        assert_eq!(parse_name("strip@3x.png").unwrap(), (ImageKind::Strip, 3));
        assert!(parse_name("logo@4x").is_err());
        assert!(parse_name("background").is_err());
    }
}
