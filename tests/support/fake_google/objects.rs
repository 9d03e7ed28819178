//! The walletobjects endpoints under `/walletobjects/v1/`: loyalty and generic classes and
//! objects kept in memory, behind a bearer token the stand-in issued; insert, GET, PATCH, PUT
//! and `addMessage` with Google's answers for existing and missing ids, and its message limits.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::errors::{bad_request, error, not_found};
use super::{Reply, State, API_PREFIX};

const KINDS: [&str; 4] = [
    "loyaltyClass",
    "loyaltyObject",
    "genericClass",
    "genericObject",
];
const MAX_MESSAGES: usize = 10;
const NOTIFICATIONS_PER_DAY: usize = 3;

pub(super) fn api(
    state: &mut State,
    now: OffsetDateTime,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Reply {
    let Some(rest) = path
        .strip_prefix(API_PREFIX)
        .and_then(|p| p.strip_prefix('/'))
    else {
        return error(404, "NOT_FOUND", "notFound", "No such endpoint.");
    };
    let bearer = auth.and_then(|a| a.strip_prefix("Bearer "));
    let valid = bearer
        .and_then(|token| state.tokens.get(token))
        .is_some_and(|expires| now < *expires);
    if !valid {
        return error(
            401,
            "UNAUTHENTICATED",
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let kind = parts[0];
    if !KINDS.contains(&kind) {
        return error(404, "NOT_FOUND", "notFound", "No such endpoint.");
    }
    let body: Option<Value> = serde_json::from_str(body).ok();
    match (method, &parts[1..]) {
        ("POST", []) => insert(state, kind, body),
        ("GET", [id]) => match state.resources.get(&key(kind, id)) {
            Some(resource) => (200, resource.clone()),
            None => not_found(kind, id),
        },
        ("PATCH" | "PUT", [id]) => update(state, kind, id, method == "PATCH", body),
        ("POST", [id, "addMessage"]) => add_message(state, now, kind, id, body),
        _ => error(404, "NOT_FOUND", "notFound", "No such method."),
    }
}

fn insert(state: &mut State, kind: &str, body: Option<Value>) -> Reply {
    let Some(body) = body.filter(Value::is_object) else {
        return bad_request(&["the body is not a JSON object".into()]);
    };
    if let Err(problems) = validate(state, &schema_name(kind), &body) {
        return bad_request(&problems);
    }
    let Some(id) = body["id"].as_str().map(str::to_owned) else {
        return bad_request(&["id is required".into()]);
    };
    if state.resources.contains_key(&key(kind, &id)) {
        let what = if kind.ends_with("Class") {
            "Wallet Object Class"
        } else {
            "Wallet Object"
        };
        return error(
            409,
            "ALREADY_EXISTS",
            "conflict",
            &format!("{what} {{{id}}} already exists."),
        );
    }
    if let Some(class_kind) = kind.strip_suffix("Object").map(|k| format!("{k}Class")) {
        let class_id = body["classId"].as_str().unwrap_or_default();
        if !state.resources.contains_key(&key(&class_kind, class_id)) {
            return error(
                404,
                "NOT_FOUND",
                "classNotFound",
                &format!("Wallet Object Class {{{class_id}}} not found."),
            );
        }
    }
    state.resources.insert(key(kind, &id), body.clone());
    (200, body)
}

fn update(state: &mut State, kind: &str, id: &str, merge: bool, body: Option<Value>) -> Reply {
    let Some(Value::Object(fields)) = body else {
        return bad_request(&["the body is not a JSON object".into()]);
    };
    let body = Value::Object(fields.clone());
    if let Err(problems) = validate(state, &schema_name(kind), &body) {
        return bad_request(&problems);
    }
    if fields.get("id").is_some_and(|given| given != id) {
        return bad_request(&[format!("the body's id does not match {id}")]);
    }
    let Some(resource) = state.resources.get_mut(&key(kind, id)) else {
        return not_found(kind, id);
    };
    if merge {
        let stored = resource.as_object_mut().unwrap();
        stored.extend(fields);
    } else {
        let mut replaced: Map<String, Value> = fields;
        replaced.insert("id".into(), json!(id));
        *resource = Value::Object(replaced);
    }
    (200, resource.clone())
}

fn add_message(
    state: &mut State,
    now: OffsetDateTime,
    kind: &str,
    id: &str,
    body: Option<Value>,
) -> Reply {
    let Some(body) = body else {
        return bad_request(&["the body is not JSON".into()]);
    };
    if let Err(problems) = validate(state, "AddMessageRequest", &body) {
        return bad_request(&problems);
    }
    let Some(message) = body.get("message").filter(|m| m.is_object()).cloned() else {
        return bad_request(&["message is required".into()]);
    };
    let Some(resource) = state.resources.get(&key(kind, id)) else {
        return not_found(kind, id);
    };
    let count = resource["messages"].as_array().map_or(0, Vec::len);
    if count >= MAX_MESSAGES {
        return bad_request(&[format!("a pass carries at most {MAX_MESSAGES} messages")]);
    }
    if message["messageType"] == "TEXT_AND_NOTIFY" {
        let times = state.notifications.entry(id.to_owned()).or_default();
        if recent(times, now) >= NOTIFICATIONS_PER_DAY {
            // The body Google answered a fourth notifying message with.
            let text = format!(
                "Quota exceeded for issuer {} when adding TEXT_AND_NOTIFY message to {} {id}.",
                id.split('.').next().unwrap_or_default(),
                if kind.ends_with("Class") {
                    "class"
                } else {
                    "object"
                },
            );
            return (
                403,
                json!({"error": {"code": 403, "message": text, "errors": [
                    {"message": text, "domain": "walletobjects", "reason": "quotaExceeded"}
                ]}}),
            );
        }
        times.push(now);
    }
    let resource = state.resources.get_mut(&key(kind, id)).unwrap();
    let fields = resource.as_object_mut().unwrap();
    let messages = fields.entry("messages").or_insert_with(|| json!([]));
    messages.as_array_mut().unwrap().push(message);
    (200, json!({"resource": resource.clone()}))
}

pub(super) fn recent(times: &[OffsetDateTime], now: OffsetDateTime) -> usize {
    let since = now - time::Duration::hours(24);
    times.iter().filter(|t| **t > since).count()
}

fn validate(state: &State, schema: &str, body: &Value) -> Result<(), Vec<String>> {
    match &state.validator {
        Some(check) => check(schema, body),
        None => Ok(()),
    }
}

/// `loyaltyObject` → `LoyaltyObject`.
fn schema_name(kind: &str) -> String {
    let mut chars = kind.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn key(kind: &str, id: &str) -> (String, String) {
    (kind.to_owned(), id.to_owned())
}
