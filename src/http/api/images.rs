//! Card images: a program uploads its own icon, logo and strip at @1x/@2x/@3x; anything not
//! uploaded falls back to the defaults in `templates/images`.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use super::{load, resource, MANAGE, READ};
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::error_code::ErrorCode;
use crate::http::limits::ImageLimits;
use crate::state::AppState;
use crate::wallet::apple::images::{file_name, validate_png, ImageKind};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/programs/{id}/images").route(web::get().to(list)))
        .service(
            resource("/programs/{id}/images/{name}")
                .route(web::put().to(put))
                .route(web::delete().to(delete)),
        );
}

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
    let slots: Vec<_> = ImageKind::ALL
        .into_iter()
        .flat_map(|k| (1..=3).map(move |s| file_name(k, s)))
        .map(|name| json!({ "name": name, "source": if uploaded.contains(&name) { "uploaded" } else { "default" } }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "images": slots })))
}

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
    Ok(HttpResponse::Ok().json(
        json!({ "name": name, "width": info.width, "height": info.height, "source": "uploaded" }),
    ))
}

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
    Ok(HttpResponse::Ok().json(json!({ "name": name, "source": "default" })))
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
