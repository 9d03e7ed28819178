//! The error answers every API operation may give, as components operations refer to.

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

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
