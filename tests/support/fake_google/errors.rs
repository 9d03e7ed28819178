//! Google's JSON error bodies, as the walletobjects API sends them, and the ones given for
//! scripted answers.

use serde_json::{json, Value};

use super::Reply;

pub(super) fn not_found(kind: &str, id: &str) -> Reply {
    let what = if kind.ends_with("Class") {
        "Wallet Object Class"
    } else {
        "Wallet Object"
    };
    error(
        404,
        "NOT_FOUND",
        "resourceNotFound",
        &format!("{what} {{{id}}} not found."),
    )
}

pub(super) fn bad_request(problems: &[String]) -> Reply {
    let message = format!(
        "Request contains an invalid argument. {}",
        problems.join("; ")
    );
    error(400, "INVALID_ARGUMENT", "invalid", &message)
}

pub(super) fn scripted_error(status: u16) -> Value {
    let (name, reason) = match status {
        401 => ("UNAUTHENTICATED", "authError"),
        403 => ("PERMISSION_DENIED", "forbidden"),
        404 => ("NOT_FOUND", "notFound"),
        429 => ("RESOURCE_EXHAUSTED", "rateLimitExceeded"),
        500 => ("INTERNAL", "backendError"),
        503 => ("UNAVAILABLE", "backendError"),
        _ => ("UNKNOWN", "unknown"),
    };
    error(status, name, reason, &format!("scripted {status}")).1
}

/// Google's JSON error shape.
pub(super) fn error(code: u16, status: &str, reason: &str, message: &str) -> Reply {
    (
        code,
        json!({"error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }}),
    )
}
