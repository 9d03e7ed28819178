//! The error answers every API operation may give, the pass answers and the PassKit web
//! service's bare statuses, as components operations refer to.

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

use super::const_string;
use crate::wallet::apple::PKPASS_CONTENT_TYPE;

/// An error answer with the API's JSON error body.
fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build(),
        )
        .build()
        .into()
}

macro_rules! error_response {
    ($(#[$doc:meta])* $name:ident, $description:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl<'s> utoipa::ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), error($description))
            }
        }
    };
}

error_response!(
    /// 401.
    Unauthorized,
    "`unauthorized`: no key, not `Bearer <key>`, or an unknown key; `api_key_revoked`: the key has been revoked."
);
error_response!(
    /// 403.
    Forbidden,
    "`forbidden`: the key's role may not do this, or the key is limited to another program."
);
error_response!(
    /// 404.
    NotFound,
    "`not_found`: the resource does not exist, or its id does not parse."
);
error_response!(
    /// 400.
    MalformedBody,
    "`malformed_json`: the body is not valid JSON; `bad_body`: the body could not be read."
);
error_response!(
    /// 413.
    PayloadTooLarge,
    "`payload_too_large`: the JSON body is larger than the configured limit (`server.max_json_bytes`, 256 KiB by default)."
);
error_response!(
    /// 415.
    UnsupportedMediaType,
    "`unsupported_media_type`: the body was not sent as `application/json`."
);
error_response!(
    /// 422.
    Unprocessable,
    "`invalid_body`: well-formed JSON of the wrong shape (unknown fields, wrong types, missing required fields, an unparsable colour, language, amount or rate); `validation_failed`: a value breaks a rule, named in `field`."
);
error_response!(
    /// 500.
    InternalError,
    "`internal_error`: something failed on the server; the details are logged, not sent."
);

fn header(description: &str, schema: impl Into<RefOr<Schema>>) -> Header {
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

/// `Last-Modified` of a pass.
fn last_modified() -> Header {
    header(
        "When the pass last changed (HTTP date, whole seconds).",
        ObjectBuilder::new().schema_type(Type::String),
    )
}

/// An answer of a status and a description alone: no body, no headers.
fn bare(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .build()
        .into()
}

macro_rules! response {
    ($(#[$doc:meta])* $name:ident, $response:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'s> utoipa::ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), $response)
            }
        }
    };
}

response!(
    /// 200: a signed `.pkpass` with the headers `crate::http::pass_response` sets.
    Pkpass,
    ResponseBuilder::new()
        .description("The signed pass.")
        .header("Last-Modified", last_modified())
        .header(
            "Content-Disposition",
            header(
                "The file name, e.g. `Test Beans.pkpass`.",
                ObjectBuilder::new().schema_type(Type::String),
            ),
        )
        .header("Cache-Control", header("`no-cache`.", const_string("no-cache")))
        .content(
            PKPASS_CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type(PKPASS_CONTENT_TYPE),
                ))
                .build(),
        )
        .build()
        .into()
);
response!(
    /// 304 for an `If-Modified-Since` the pass has not changed since.
    NotModified,
    ResponseBuilder::new()
        .description("The pass has not changed since `If-Modified-Since`; no body.")
        .header("Last-Modified", last_modified())
        .build()
        .into()
);

// The PassKit web service's answers: bare statuses, as Wallet expects (and Google's callbacks).
response!(
    /// 400.
    WalletBadRequest,
    bare("Malformed input (named in each operation); no body.")
);
response!(
    /// 401.
    WalletUnauthorized,
    bare("No `Authorization: ApplePass <token>`, a wrong token, an unknown serial, or a pass type that is not the pass's: all answer the same, so serials cannot be probed. No body.")
);
response!(
    /// 413: actix's answer to a body over the area's `PayloadConfig` limit.
    WalletPayloadTooLarge,
    ResponseBuilder::new()
        .description("The body is larger than 64 KiB.")
        .content(
            "text/plain",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        )
        .build()
        .into()
);
response!(
    /// 429, with `Retry-After`.
    WalletTooManyRequests,
    ResponseBuilder::new()
        .description("This device (or client) used up its budget: `passkit.device_burst` requests at once, then `passkit.device_per_minute`. No body.")
        .header(
            "Retry-After",
            header(
                "Seconds to wait before the next request (at least 1).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+$")),
            ),
        )
        .build()
        .into()
);
response!(
    /// 500.
    WalletInternalError,
    bare("Something failed on the server; the details are logged. No body.")
);

/// The refusals every operation that needs an API key may answer: 401, 403 and 500.
pub struct KeyRefusals;

impl utoipa::IntoResponses for KeyRefusals {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        [
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("500", "InternalError"),
        ]
        .into_iter()
        .map(|(status, name)| (status.to_string(), Ref::from_response_name(name).into()))
        .collect()
    }
}

/// The refusals of a JSON request body before anything else is looked at: 400, 413 and 415.
pub struct BodyRefusals;

impl utoipa::IntoResponses for BodyRefusals {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        [
            ("400", "MalformedBody"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ]
        .into_iter()
        .map(|(status, name)| (status.to_string(), Ref::from_response_name(name).into()))
        .collect()
    }
}
