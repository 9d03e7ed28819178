//! Checks JSON we send to Google against Google's own discovery document
//! (`tests/fixtures/google/walletobjects.v1.json`, revision 20260806): every property must exist
//! in the schema (no unknown fields, a typo fails), be of the right type (int64 values are
//! decimal strings, int32 are numbers), use a listed and not deprecated enum value, and not be
//! a deprecated field; `$ref`s and array items are followed. On top, the rules the discovery
//! document states only in prose: "Required" fields, one of `sourceUri`/`privateImageId`, one
//! balance form, id formats.
//!
//! The save-link JWT has no schema there (`JwtResource` is just a string), so its claims are
//! checked by hand in `validate_save_jwt_claims`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

struct Discovery {
    schemas: Map<String, Value>,
    /// Per schema, the properties that must be present (from descriptions starting with
    /// "Required", plus the rules below).
    required: BTreeMap<String, Vec<String>>,
}

/// Required fields Google states elsewhere than at the start of a description, or without
/// which the value means nothing (a translation without a language).
const EXTRA_REQUIRED: &[(&str, &[&str])] = &[
    // "This is a required field of `loyaltyPoints` and `secondaryLoyaltyPoints`."
    ("LoyaltyPoints", &["balance"]),
    ("Barcode", &["type"]),
    ("LocalizedString", &["defaultValue"]),
    ("TranslatedString", &["language", "value"]),
    ("ImageUri", &["uri"]),
    ("Uri", &["uri"]),
];

fn discovery() -> &'static Discovery {
    static DISCOVERY: OnceLock<Discovery> = OnceLock::new();
    DISCOVERY.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/google/walletobjects.v1.json"
        );
        let text = std::fs::read_to_string(path).expect("the Google discovery document");
        let mut doc: Value = serde_json::from_str(&text).expect("discovery JSON");
        let Some(Value::Object(schemas)) = doc.get_mut("schemas").map(Value::take) else {
            panic!("discovery document without schemas");
        };
        let mut required: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, schema) in &schemas {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                continue;
            };
            for (prop, def) in props {
                let description = def.get("description").and_then(Value::as_str);
                if description.is_some_and(|d| d.starts_with("Required")) {
                    required.entry(name.clone()).or_default().push(prop.clone());
                }
            }
        }
        for (name, props) in EXTRA_REQUIRED {
            let entry = required.entry(name.to_string()).or_default();
            for p in *props {
                if !entry.iter().any(|e| e == p) {
                    entry.push(p.to_string());
                }
            }
        }
        Discovery { schemas, required }
    })
}

/// `value` as a complete `schema_name` resource (an insert or update body, or an object in a
/// save-link JWT).
pub fn validate(schema_name: &str, value: &Value) -> Result<(), Vec<String>> {
    run(schema_name, value, true)
}

/// `value` as a PATCH body: only the keys sent are checked, so top-level required fields may
/// be absent (nested objects are still checked whole, as Google replaces them whole).
pub fn validate_patch(schema_name: &str, value: &Value) -> Result<(), Vec<String>> {
    run(schema_name, value, false)
}

fn run(schema_name: &str, value: &Value, top_required: bool) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if !discovery().schemas.contains_key(schema_name) {
        return Err(vec![format!("no schema named {schema_name}")]);
    }
    check_named(schema_name, value, "$", top_required, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_named(name: &str, value: &Value, path: &str, required: bool, errors: &mut Vec<String>) {
    let d = discovery();
    let Some(schema) = d.schemas.get(name) else {
        errors.push(format!(
            "{path}: schema {name} is missing from the discovery document"
        ));
        return;
    };
    let Some(object) = value.as_object() else {
        errors.push(format!(
            "{path}: expected a {name} object, found {}",
            kind(value)
        ));
        return;
    };
    let props = schema.get("properties").and_then(Value::as_object);
    for (key, v) in object {
        let at = format!("{path}.{key}");
        match props.and_then(|p| p.get(key)) {
            None => errors.push(format!("{at}: {name} has no property {key:?}")),
            Some(def) => {
                if def.get("deprecated").and_then(Value::as_bool) == Some(true) {
                    errors.push(format!("{at}: {name}.{key} is deprecated"));
                }
                check(def, v, &at, errors);
            }
        }
    }
    if required {
        for field in d.required.get(name).into_iter().flatten() {
            if !object.contains_key(field) {
                errors.push(format!("{path}: {name} requires {field:?}"));
            }
        }
    }
    rules(name, object, path, errors);
}

/// Constraints the discovery document states in prose.
fn rules(name: &str, object: &Map<String, Value>, path: &str, errors: &mut Vec<String>) {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    match name {
        "Image" => {
            let n = ["sourceUri", "privateImageId"]
                .iter()
                .filter(|k| object.contains_key(**k))
                .count();
            if n != 1 {
                errors.push(format!(
                    "{path}: Image needs exactly one of sourceUri and privateImageId"
                ));
            }
        }
        "LoyaltyPointsBalance" if object.len() != 1 => {
            errors.push(format!(
                "{path}: a balance has exactly one of string, int, double, money"
            ));
        }
        "LoyaltyClass" | "LoyaltyObject" => {
            for key in ["id", "classId"] {
                if let Some(id) = text(key) {
                    if !is_resource_id(id) {
                        errors.push(format!(
                            "{path}.{key}: {id:?} is not <issuerId>.<letters, digits, . _ ->"
                        ));
                    }
                }
            }
            if let Some(color) = text("hexBackgroundColor") {
                let hex = color.strip_prefix('#').unwrap_or("");
                if !(matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())) {
                    errors.push(format!(
                        "{path}.hexBackgroundColor: {color:?} is not #rrggbb or #rgb"
                    ));
                }
            }
        }
        "TextModuleData" => {
            if let Some(id) = text("id") {
                let ok = id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    errors.push(format!(
                        "{path}.id: {id:?} may hold only letters, digits, _ and -"
                    ));
                }
            }
        }
        "ImageUri" | "Uri" | "CallbackOptions" => {
            let key = if name == "CallbackOptions" {
                "url"
            } else {
                "uri"
            };
            if let Some(uri) = text(key) {
                if !has_scheme(uri) {
                    errors.push(format!("{path}.{key}: {uri:?} has no scheme"));
                }
                if name != "Uri" && !uri.starts_with("https://") {
                    errors.push(format!("{path}.{key}: {uri:?} must be HTTPS"));
                }
            }
        }
        _ => {}
    }
}

fn check(def: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(name) = def.get("$ref").and_then(Value::as_str) {
        check_named(name, value, path, true, errors);
        return;
    }
    let ty = def.get("type").and_then(Value::as_str).unwrap_or("");
    let format = def.get("format").and_then(Value::as_str);
    match ty {
        "string" => {
            let Some(s) = value.as_str() else {
                errors.push(format!("{path}: expected a string, found {}", kind(value)));
                return;
            };
            match format {
                Some("int64")
                    if !(is_decimal(s.strip_prefix('-').unwrap_or(s))
                        && s.parse::<i64>().is_ok()) =>
                {
                    errors.push(format!("{path}: {s:?} is not an int64 in decimal"));
                }
                Some("uint64") if s.parse::<u64>().is_err() => {
                    errors.push(format!("{path}: {s:?} is not a uint64 in decimal"));
                }
                _ => {}
            }
            check_enum(def, s, path, errors);
        }
        "integer" => {
            let fits = match format {
                Some("uint32") => value.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
                _ => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            };
            if !fits {
                errors.push(format!(
                    "{path}: expected an integer ({}), found {value}",
                    format.unwrap_or("int32")
                ));
            }
        }
        "number" => {
            if !value.is_number() {
                errors.push(format!("{path}: expected a number, found {}", kind(value)));
            }
        }
        "boolean" => {
            if !value.is_boolean() {
                errors.push(format!("{path}: expected a boolean, found {}", kind(value)));
            }
        }
        "array" => {
            let Some(items) = value.as_array() else {
                errors.push(format!("{path}: expected an array, found {}", kind(value)));
                return;
            };
            let Some(item_def) = def.get("items") else {
                errors.push(format!("{path}: array without an item schema"));
                return;
            };
            for (i, item) in items.iter().enumerate() {
                check(item_def, item, &format!("{path}[{i}]"), errors);
            }
        }
        "object" => {
            if !value.is_object() {
                errors.push(format!("{path}: expected an object, found {}", kind(value)));
            }
        }
        other => errors.push(format!(
            "{path}: the schema has type {other:?}, which this check does not know"
        )),
    }
}

fn check_enum(def: &Value, s: &str, path: &str, errors: &mut Vec<String>) {
    let Some(values) = def.get("enum").and_then(Value::as_array) else {
        return;
    };
    match values.iter().position(|v| v.as_str() == Some(s)) {
        None => errors.push(format!("{path}: {s:?} is not one of {values:?}")),
        Some(i) => {
            let deprecated = def
                .get("enumDeprecated")
                .and_then(|d| d.get(i))
                .and_then(Value::as_bool);
            if deprecated == Some(true) {
                errors.push(format!("{path}: {s:?} is a deprecated value"));
            }
        }
    }
}

/// The payload arrays a save-link JWT may carry, with the schema of their items.
const PAYLOAD_KINDS: &[(&str, &str)] = &[
    ("loyaltyClasses", "LoyaltyClass"),
    ("loyaltyObjects", "LoyaltyObject"),
    ("genericClasses", "GenericClass"),
    ("genericObjects", "GenericObject"),
    ("offerClasses", "OfferClass"),
    ("offerObjects", "OfferObject"),
    ("giftCardClasses", "GiftCardClass"),
    ("giftCardObjects", "GiftCardObject"),
    ("eventTicketClasses", "EventTicketClass"),
    ("eventTicketObjects", "EventTicketObject"),
    ("flightClasses", "FlightClass"),
    ("flightObjects", "FlightObject"),
    ("transitClasses", "TransitClass"),
    ("transitObjects", "TransitObject"),
];

/// The claims of a "Save to Google Wallet" JWT (google-wallet.md §7): exactly iss, aud
/// `google`, typ `savetowallet`, iat (integer seconds), origins (strings) and payload. Payload
/// objects are either full resources, checked against their schema, or references to
/// inserted ones (`id`, optionally `classId`).
pub fn validate_save_jwt_claims(claims: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let Some(c) = claims.as_object() else {
        return Err(vec![format!(
            "claims must be an object, found {}",
            kind(claims)
        )]);
    };
    for key in c.keys() {
        if !["iss", "aud", "typ", "iat", "origins", "payload"].contains(&key.as_str()) {
            errors.push(format!("$.{key}: not a save-link claim"));
        }
    }
    if !c
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains('@'))
    {
        errors.push("$.iss: must be the service account's e-mail".into());
    }
    if c.get("aud").and_then(Value::as_str) != Some("google") {
        errors.push("$.aud: must be \"google\"".into());
    }
    if c.get("typ").and_then(Value::as_str) != Some("savetowallet") {
        errors.push("$.typ: must be \"savetowallet\"".into());
    }
    let iat = c.get("iat").and_then(Value::as_i64);
    if iat.is_none_or(|n| n <= 0) {
        errors.push("$.iat: must be an integer number of seconds".into());
    }
    match c.get("origins").and_then(Value::as_array) {
        Some(origins) if origins.iter().all(Value::is_string) => {}
        _ => errors.push("$.origins: must be an array of strings".into()),
    }
    match c.get("payload").and_then(Value::as_object) {
        None => errors.push("$.payload: must be an object".into()),
        Some(payload) if payload.is_empty() => errors.push("$.payload: is empty".into()),
        Some(payload) => {
            for (key, items) in payload {
                let at = format!("$.payload.{key}");
                let Some((_, schema)) = PAYLOAD_KINDS.iter().find(|(k, _)| k == key) else {
                    errors.push(format!("{at}: not a save-link payload kind"));
                    continue;
                };
                let Some(items) = items.as_array() else {
                    errors.push(format!("{at}: must be an array"));
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{at}[{i}]");
                    let reference = item.as_object().is_some_and(|o| {
                        o.contains_key("id") && o.keys().all(|k| k == "id" || k == "classId")
                    });
                    let result = if reference {
                        validate_patch(schema, item)
                    } else {
                        validate(schema, item)
                    };
                    if let Err(e) = result {
                        errors.extend(e.into_iter().map(|e| format!("{at}: {e}")));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn is_resource_id(id: &str) -> bool {
    let Some((issuer, suffix)) = id.split_once('.') else {
        return false;
    };
    is_decimal(issuer)
        && !suffix.is_empty()
        && suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn has_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
