//! docs/openapi.json itself (openapi.rs has the shared checker): a well-formed OpenAPI 3.1
//! document whose operations are exactly the routes the server registers, each of which
//! exists and answers a documented status.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::openapi::*;

/// The routes that refuse a request without an `Idempotency-Key` header (api/points.rs).
const IDEMPOTENT: &[(&str, &str)] = &[
    ("POST", "/api/v1/members/{id}/earn"),
    ("POST", "/api/v1/members/{id}/adjust"),
];

/// Schemas other documents and clients refer to by name.
const SCHEMAS: &[&str] = &[
    "Program",
    "Design",
    "Colors",
    "Layout",
    "FieldKind",
    "BackField",
    "Tier",
    "TierDesign",
    "EarnRules",
    "Reward",
    "RewardInput",
    "Member",
    "Consent",
    "EnrollInput",
    "MemberPatch",
    "LedgerEntry",
    "PointsResult",
    "ApiKey",
    "ApiKeyCreated",
    "Webhook",
    "WebhookCreated",
    "WebhookEvent",
    "Error",
];

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn document_is_well_formed_and_lists_every_route() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "openapi must be 3.1.x"
    );
    assert_eq!(doc["info"]["title"], "passwright");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("Authorization: Bearer <key>")));
    assert!(!DOCUMENT.contains('\t'), "indent with spaces");
    assert!(
        DOCUMENT
            .lines()
            .all(|l| (l.len() - l.trim_start().len()) % 2 == 0),
        "indent by 2 spaces"
    );
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    // A key, or the console's session cookie.
    assert_eq!(
        doc["security"],
        json!([{"bearerAuth": []}, {"consoleSession": []}])
    );
    let cookie = &doc["components"]["securitySchemes"]["consoleSession"];
    assert_eq!(
        (&cookie["type"], &cookie["in"], &cookie["name"]),
        (&json!("apiKey"), &json!("cookie"), &json!("pw_console"))
    );
    for name in SCHEMAS {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "components.schemas.{name} is missing"
        );
    }

    // Every $ref names an existing component.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(
            r.starts_with("#/components/"),
            "$ref {r} must point into components"
        );
        assert!(doc.pointer(&r[1..]).is_some(), "$ref {r} does not resolve");
    }

    let mut ids = BTreeSet::new();
    for o in operations(&doc) {
        let name = o.name();
        let id = o.op["operationId"].as_str().unwrap_or("");
        assert!(!id.is_empty(), "{name} has no operationId");
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        assert!(
            o.op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name} has no summary"
        );
        let responses = o.op["responses"].as_object();
        assert!(
            responses.is_some_and(|r| !r.is_empty()),
            "{name} has no responses"
        );
        for (status, response) in responses.into_iter().flatten() {
            assert!(
                status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()),
                "{name}: response key {status} is not a status code"
            );
            assert!(
                resolve(&doc, response)["description"].is_string(),
                "{name} {status} has no description"
            );
        }

        // Path placeholders and path parameters agree.
        let params = parameters(&doc, &o);
        let in_path: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{name}: path parameters are required");
                p["name"].as_str().unwrap_or("")
            })
            .collect();
        let expected: BTreeSet<&str> = placeholders(o.path).into_iter().collect();
        assert_eq!(in_path, expected, "{name}: path parameters");

        // The API needs a bearer key; the document itself, downloads and health do not.
        let authenticated = o.path.starts_with("/api/v1/") && o.path != "/api/v1/openapi.json";
        if authenticated {
            assert!(o.op.get("security").is_none(), "{name} must use bearerAuth");
            assert!(
                o.op["responses"].get("401").is_some(),
                "{name} must document 401"
            );
            assert!(
                o.op["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("Roles: ")),
                "{name} must say which roles may call it"
            );
        } else if o.op["security"] == json!([{"consoleSession": []}]) {
            // Console pages for the signed-in: without a session, to the sign-in page.
            assert!(o.path.starts_with("/console"), "{name}");
            assert!(
                o.op["responses"].get("303").is_some(),
                "{name} must document the way to the sign-in page"
            );
        } else {
            assert_eq!(o.op["security"], json!([]), "{name} needs no key");
        }

        // The Idempotency-Key header is documented exactly where it is required.
        let idempotency = params.iter().any(|p| {
            p["in"] == "header" && p["name"] == "Idempotency-Key" && p["required"] == true
        });
        let required = IDEMPOTENT.contains(&(o.method.as_str(), o.path));
        assert_eq!(idempotency, required, "{name}: Idempotency-Key header");
    }

    // The document lists exactly the routes the code registers.
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .iter()
        .map(|o| (o.method.clone(), o.path.to_string()))
        .collect();
    // (Routes are registered only through `http::routes()`: tests/api/architecture.rs.)
    let registered: BTreeSet<(String, String)> = passwright::http::routes()
        .iter()
        .flat_map(|routes| {
            routes
                .registered()
                .iter()
                .map(|r| (r.method.to_string(), r.path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let missing: Vec<_> = registered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes not in docs/openapi.json: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(extra.is_empty(), "documented but not registered: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_exists_and_answers_a_documented_status() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::every_documented_route_exists").await
    else {
        return;
    };
    let doc = document();
    let schemas = Schemas::new(&doc);
    let ids = Ids::unknown();
    for o in operations(&doc) {
        let name = o.name();
        let method = Method::from_bytes(o.method.as_bytes()).unwrap();
        // Redirects are answers too (the console's sign-in, the old dashboard).
        let mut req = crate::console::browser().request(method.clone(), app.url(&ids.path(o.path)));
        if o.path.starts_with("/api/v1/") {
            req = req.bearer_auth(&app.admin);
        }
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            req = req
                .json(&json!({}))
                .header("Idempotency-Key", "openapi-probe");
        }
        let r = reply(req.send().await.unwrap()).await;
        // Under /api/v1 the default service answers JSON "route not found"; elsewhere actix
        // answers an empty 404.
        let no_route = r.status == 404
            && (r.body["error"]["message"] == "route not found" || r.bytes.is_empty());
        assert!(!no_route, "{name}: the server has no such route");
        check_reply(&doc, &schemas, &o, &r);
    }
}
