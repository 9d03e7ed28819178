//! The OpenAPI document (`docs/openapi.json`, served at `/api/v1/openapi.json`), generated
//! from the code: each area's handlers carry `#[utoipa::path]`, its bodies are typed structs
//! deriving `ToSchema`, and the areas' documents (`http::documents`) are merged here
//! under the introduction in `docs/openapi/intro.md`. `passwright openapi` writes it; a test
//! fails when the committed file differs.
//!
//! While the areas move over, the operations and components not yet described in code are
//! read from `docs/openapi/unconverted.json`; an operation or component described in both
//! places is an error, so each moves once.

pub mod responses;

use serde_json::{Map, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, ServerBuilder, Tag};
use utoipa::OpenApi as _;

pub use responses::{
    Forbidden, InternalError, MalformedBody, NotFound, NotModified, PayloadTooLarge, Pkpass,
    Unauthorized, Unprocessable, UnsupportedMediaType,
};

/// The document's text as `GET /api/v1/openapi.json` answers it, built once by `http` from
/// every area (or what is described twice, logged and answered as a 500).
pub struct Served(pub Result<String, String>);

/// This OpenAPI document
///
/// No key needed.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "getOpenApi",
    tag = "meta",
    security(),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object),
    )
)]
pub async fn serve(served: actix_web::web::Data<Served>) -> actix_web::HttpResponse {
    match &served.0 {
        Ok(text) => actix_web::HttpResponse::Ok()
            .content_type("application/json")
            .body(text.clone()),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not build");
            actix_web::HttpResponse::InternalServerError().finish()
        }
    }
}

/// The document's own operation.
#[derive(utoipa::OpenApi)]
#[openapi(paths(serve))]
struct Meta;

/// The introduction: authentication, roles, errors, the PassKit web service, Google Wallet.
const INTRO: &str = include_str!("../../docs/openapi/intro.md");

/// What is not yet described in code (see the module doc).
const UNCONVERTED: &str = include_str!("../../docs/openapi/unconverted.json");

/// The areas, by tag, in the order the document lists them.
const TAGS: &[(&str, &str)] = &[
    ("programs", "Programs: card design, tiers and earn rules."),
    ("rewards", "A program's rewards catalogue."),
    ("images", "Card images (icon, logo, strip at @1x/@2x/@3x)."),
    ("members", "Card holders."),
    ("points", "Earning, adjusting and the points ledger."),
    ("keys", "API keys (admin)."),
    (
        "counter",
        "The counter: locations, card scans, visits, purchases and redemptions.",
    ),
    (
        "reports",
        "Reports per program and period (definitions: docs/REPORTS.md).",
    ),
    ("passes", "Public pass downloads."),
    (
        "wallet",
        "The Apple PassKit web service Wallet calls (`webServiceURL`): registrations, updated serials, the latest pass, device logs.",
    ),
    (
        "google",
        "Google Wallet: save links for members, Google's save/delete callbacks, and the public program images Google fetches.",
    ),
    (
        "operations",
        "Health checks, metrics, device logs and the outbox.",
    ),
    ("meta", "This document."),
    (
        "webhooks",
        "Outgoing webhooks: a program's endpoints, signed event deliveries through the outbox, and what each endpoint was sent.",
    ),
    (
        "pages",
        "The staff scanner and the marketer dashboard (HTML pages that call this API with the signed-in key).",
    ),
    (
        "links",
        "Enrollment links and members' card links, with their QR images.",
    ),
    (
        "landing",
        "The public landing pages links open: the sign-up form, the card with its wallet buttons, QR images, and the wallet hand-offs.",
    ),
    (
        "campaigns",
        "Email, SMS, print and web campaigns: audiences, sending, automations, funnels.",
    ),
];

/// Components every area refers to: the error body, the error answers, the pass answers, and
/// the idempotency key header's value (parameters do not bring their schemas along).
#[derive(utoipa::OpenApi)]
#[openapi(components(
    schemas(super::error::ErrorBody, crate::domain::ledger::IdempotencyKey),
    responses(
        Unauthorized,
        Forbidden,
        NotFound,
        MalformedBody,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
        InternalError,
        Pkpass,
        NotModified
    )
))]
struct Shared;

/// What the code describes: the introduction, the shared components and each converted
/// area's operations.
fn described(areas: Vec<OpenApi>) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("passwright")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(INTRO.trim_end()))
                .license(Some(
                    LicenseBuilder::new()
                        .name("Apache-2.0")
                        .identifier(Some("Apache-2.0"))
                        .build(),
                )),
        )
        .servers(Some([ServerBuilder::new()
            .url("/")
            .description(Some("This service; all paths are absolute."))
            .build()]))
        .tags(Some(TAGS.iter().map(|(name, description)| {
            let mut tag = Tag::new(*name);
            tag.description = Some((*description).to_string());
            tag
        })))
        .build();
    doc.merge(Shared::openapi());
    doc.merge(Meta::openapi());
    for area in areas {
        doc.merge(area);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    let mut bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
    bearer.description = Some("An API key: `Authorization: Bearer <key>`.".into());
    components.add_security_scheme("bearerAuth", SecurityScheme::Http(bearer));
    components.add_security_scheme(
        "applePass",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "Wallet's credential for one pass, used only under `/wallet/v1`: `Authorization: ApplePass <authenticationToken>`, the token in that pass's `pass.json`. Those operations list `security: []` because they take no API key; their descriptions say where this header is needed.",
        ))),
    );
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new::<
        &str,
        [&str; 0],
        &str,
    >("bearerAuth", [])]);
    doc
}

/// A string schema for exactly `value` (utoipa's builders have no `const`; a one-value `enum`
/// says the same).
pub fn const_string(value: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([value]))
        .build()
}

/// A schema still described in `docs/openapi/unconverted.json`, referred to by name until it
/// moves into the code (the contract test fails on a reference to nothing).
pub fn unconverted(name: &str) -> utoipa::openapi::Ref {
    utoipa::openapi::Ref::from_schema_name(name)
}

/// The whole document as JSON, from the areas' documents, or what is described twice.
pub fn document(areas: Vec<OpenApi>) -> Result<Value, String> {
    let described = serde_json::to_value(described(areas)).map_err(|e| e.to_string())?;
    let unconverted: Value = serde_json::from_str(UNCONVERTED).map_err(|e| e.to_string())?;
    merge(described, unconverted)
}

/// The document as `docs/openapi.json` holds it: pretty, with a final newline.
pub fn text(doc: &Value) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// Adds the unconverted paths and components to what the code describes.
fn merge(mut described: Value, unconverted: Value) -> Result<Value, String> {
    let mut twice = Vec::new();
    if let Some(paths) = unconverted.get("paths").and_then(Value::as_object) {
        let into = object_at(&mut described, &["paths"]);
        for (path, item) in paths {
            if into.insert(path.clone(), item.clone()).is_some() {
                twice.push(format!("paths.{path}"));
            }
        }
    }
    if let Some(components) = unconverted.get("components").and_then(Value::as_object) {
        for (kind, entries) in components {
            let into = object_at(&mut described, &["components", kind]);
            for (name, entry) in entries.as_object().into_iter().flatten() {
                if into.insert(name.clone(), entry.clone()).is_some() {
                    twice.push(format!("components.{kind}.{name}"));
                }
            }
        }
    }
    if twice.is_empty() {
        Ok(described)
    } else {
        Err(format!(
            "described in code and in docs/openapi/unconverted.json: {}; remove them from the JSON",
            twice.join(", ")
        ))
    }
}

/// The object at `path` in `v`, made where missing.
fn object_at<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut at = v;
    for key in path {
        at = as_object(at)
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    as_object(at)
}

/// `v` as an object, replacing anything else with an empty one.
fn as_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("replaced with an object above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_described_twice_is_named() {
        let described =
            serde_json::json!({"paths": {"/a": {}}, "components": {"schemas": {"X": {}}}});
        let unconverted = serde_json::json!({"paths": {"/a": {}, "/b": {}}, "components": {"schemas": {"X": {}, "Y": {}}}});
        let err = merge(described, unconverted).unwrap_err();
        assert!(
            err.contains("paths./a") && err.contains("components.schemas.X"),
            "{err}"
        );
        assert!(!err.contains("/b") && !err.contains(".Y"), "{err}");
    }
}
