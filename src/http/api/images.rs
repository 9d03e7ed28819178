//! Card images: a program uploads its own icon, logo and strip at @1x/@2x/@3x; anything not
//! uploaded falls back to the defaults in `templates/images`.

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
use crate::wallet::apple::images::{file_name, validate_png, ImageKind};

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(list, put, delete))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_list, list)
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
        .description(Some("`default` means the built-in neutral image is used."))
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

/// Upload a card image
///
/// Uploads the PNG for one slot, replacing any earlier upload. The body is the PNG itself,
/// sent as `image/png`. It must decode completely and fit the slot (in points, times the
/// scale): icon square, 29 to 58; logo 10x10 to 160x50; strip 160x40 to 375x144. Bumps
/// `design_version`.
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
        (status = 413, description = "`payload_too_large`: the image is larger than the configured limit (`server.max_image_bytes`, 4 MiB by default).", body = ErrorBody),
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
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (id, name) = path.into_inner();
    let program = load::program(&state, &caller, &id).await?;
    let (kind, scale) = parse_name(&name)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("image/png") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "upload the image as image/png",
        ));
    }
    let limit = limits.max_bytes;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(ErrorCode::BadBody, e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    let info = validate_png(kind, scale, &body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidImage, e.to_string()))?;
    let name = file_name(kind, scale);
    state
        .store
        .put_image(&program.id, &name, &body, state.clock.now())
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
/// Removes the uploaded image, so the slot uses the default again.
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
        .delete_image(&program.id, &name, state.clock.now())
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
