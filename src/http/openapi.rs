//! The OpenAPI document (`docs/openapi.json`, served at `/api/v1/openapi.json`), generated
//! from the code: each area's handlers carry `#[utoipa::path]`, its bodies are typed structs
//! deriving `ToSchema`, and the areas' documents (`http::documents`) are merged here
//! under the introduction in `docs/openapi/intro.md`. `passwright openapi` writes it; a test
//! fails when the committed file differs.

pub mod responses;

use serde_json::Value;
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
        "The staff scanner (an HTML page that calls this API with the till's key), the unsubscribe page, and the pages' scripts and styles.",
    ),
    (
        "console",
        "The console people run their programs from: server-rendered HTML pages behind an email-and-password sign-in (the `consoleSession` cookie), whose forms carry the session's CSRF token; and the front page `/`.",
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
    schemas(
        super::error::ErrorBody,
        crate::domain::ledger::IdempotencyKey,
        crate::domain::events::Envelope,
        crate::domain::webhook::EventSelector,
        crate::domain::program::ProductType
    ),
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
    components.add_security_scheme(
        "consoleSession",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::http::auth::SESSION_COOKIE,
            "A console user's session, as the console's pages call the API: the cookie `/console/sign-in` sets. Requests that change something must also send the session's CSRF token as `X-CSRF-Token` (else 403 `csrf_token_mismatch`). The user's role and program scope apply as a key's would.",
        ))),
    );
    let requirement = |name: &str| {
        utoipa::openapi::security::SecurityRequirement::new::<&str, [&str; 0], &str>(name, [])
    };
    doc.security = Some(vec![
        requirement("bearerAuth"),
        requirement("consoleSession"),
    ]);
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

/// The whole document as JSON, from the areas' documents.
pub fn document(areas: Vec<OpenApi>) -> Result<Value, String> {
    serde_json::to_value(described(areas)).map_err(|e| e.to_string())
}

/// The document as `docs/openapi.json` holds it: pretty, with a final newline.
pub fn text(doc: &Value) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}
