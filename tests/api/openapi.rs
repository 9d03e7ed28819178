//! `docs/openapi.json` kept honest: a well-formed OpenAPI 3.1 document whose operations are
//! exactly the routes the server registers, answering only documented statuses, with bodies
//! that match the documented schemas.

use std::collections::BTreeSet;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::*;

const DOCUMENT: &str = include_str!("../../docs/openapi.json");

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

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("docs/openapi.json is not valid JSON")
}

/// One documented operation.
struct Op<'a> {
    /// Upper case, as on the wire.
    method: String,
    path: &'a str,
    item: &'a Value,
    op: &'a Value,
}

impl Op<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn operations(doc: &Value) -> Vec<Op<'_>> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push(Op {
                    method: m.to_uppercase(),
                    path,
                    item,
                    op,
                });
            }
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Op<'a> {
    operations(doc)
        .into_iter()
        .find(|o| o.method == method && o.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
}

/// Follows `$ref`s (local JSON pointers) to the value they name.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                v = doc
                    .pointer(r.strip_prefix('#').unwrap_or(r))
                    .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
            }
            None => return v,
        }
    }
    panic!("$ref chain too long");
}

/// Path-item and operation parameters, resolved.
fn parameters<'a>(doc: &'a Value, o: &Op<'a>) -> Vec<&'a Value> {
    o.item
        .get("parameters")
        .into_iter()
        .chain(o.op.get("parameters"))
        .filter_map(Value::as_array)
        .flatten()
        .map(|p| resolve(doc, p))
        .collect()
}

/// `{name}` placeholders of a path template.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect()
}

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
    assert_eq!(doc["security"], json!([{"bearerAuth": []}]));
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

/// Ids for path parameters, by the collection they follow and the parameter name.
struct Ids {
    program: String,
    member: String,
    reward: String,
    key: String,
    image: String,
    token: String,
    webhook: String,
}

impl Ids {
    /// Well-formed ids that name nothing.
    fn unknown() -> Ids {
        Ids {
            program: "prg_aaaaaaaaaaaaaaaa".into(),
            member: "mem_aaaaaaaaaaaaaaaa".into(),
            reward: "rwd_aaaaaaaaaaaaaaaa".into(),
            key: "key_aaaaaaaaaaaaaaaa".into(),
            image: "logo".into(),
            token: "aaaaaaaaaaaaaaaaaaaa.1.aaaaaaaaaaaaaaaa".into(),
            webhook: "whk_aaaaaaaaaaaaaaaa".into(),
        }
    }

    /// `template` with its placeholders filled in.
    fn path(&self, template: &str) -> String {
        let collection = template.split('/').nth(3).unwrap_or("");
        let mut path = template.to_string();
        for name in placeholders(template) {
            let value: &str = match (name, collection) {
                ("id", "programs") => &self.program,
                ("id", "members") => &self.member,
                ("id", "keys") => &self.key,
                ("id", "webhooks") => &self.webhook,
                ("id", "campaigns") => "cmp_aaaaaaaaaaaaaaaa",
                ("reward", _) => &self.reward,
                ("name", _) => &self.image,
                ("token", _) => &self.token,
                // Public program images (images.rs): the program, and an image name that exists.
                ("program", _) => &self.program,
                ("file", _) => "google-logo.png",
                // The pages' files (pages/assets.rs).
                ("asset", _) => "staff.js",
                // No such job, device or pass: the outbox and the PassKit web service.
                ("id", "outbox") => "1",
                ("device", _) => "openapiprobe",
                ("pass_type", _) => PASS_TYPE_ID,
                ("serial", _) => "aaaaaaaaaaaaaaaaaaaa",
                // No such link (landing/ and api/links.rs).
                ("code", _) => "aaaaaaaa",
                _ => panic!("no test value for {{{name}}} in {template}; add one to Ids"),
            };
            path = path.replace(&format!("{{{name}}}"), value);
        }
        path
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_exists_and_answers_a_documented_status() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::every_documented_route_exists").await
    else {
        return;
    };
    let doc = document();
    let ids = Ids::unknown();
    for o in operations(&doc) {
        let name = o.name();
        let method = Method::from_bytes(o.method.as_bytes()).unwrap();
        let mut req = app
            .client
            .request(method.clone(), app.url(&ids.path(o.path)));
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
        check_reply(&doc, &o, &r);
    }
}

/// Checks an answer against the operation's documented responses: the status, the documented
/// headers, the content type and (for JSON) the schema.
fn check_reply(doc: &Value, o: &Op<'_>, r: &Reply) {
    let name = o.name();
    let status = r.status.as_str();
    let Some(response) = o.op["responses"].get(status) else {
        panic!(
            "{name} answered {status}, which is not documented: {}",
            String::from_utf8_lossy(&r.bytes)
        );
    };
    let response = resolve(doc, response);
    for header in response
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|h| h.keys())
    {
        assert!(
            r.headers.contains_key(header.as_str()),
            "{name} {status}: documented header {header} is missing"
        );
    }
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(
            r.bytes.is_empty(),
            "{name} {status}: documented without a body, answered {}",
            String::from_utf8_lossy(&r.bytes)
        );
        return;
    };
    let content_type = r
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim();
    let Some(media) = content.get(content_type) else {
        panic!("{name} {status}: Content-Type {content_type:?} is not documented");
    };
    if content_type == "application/json" {
        let mut errors = Vec::new();
        validate(doc, &media["schema"], &r.body, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{name} {status}: the answer does not match the documented schema:\n  {}\nbody: {}",
            errors.join("\n  "),
            r.body
        );
    }
}

/// A JSON Schema check for the keywords the document uses. Stricter than JSON Schema in one
/// way: an object schema that lists `properties` (without an `additionalProperties` schema)
/// accepts no other properties, so undocumented fields in answers are caught.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let passes = |s: &Value| {
        let mut e = Vec::new();
        validate(doc, s, value, at, &mut e);
        e.is_empty()
    };
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        if !branches.iter().any(passes) {
            errors.push(format!("{at}: {value} matches no alternative"));
        }
    }
    if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
        // The branches describe one object together (a report row is its figures and its
        // own fields): a property one branch lists is documented, and each branch checks
        // the properties it lists and those no branch lists.
        let listed = |b: &Value| -> BTreeSet<String> {
            resolve(doc, b)
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default()
        };
        let all: BTreeSet<String> = branches.iter().flat_map(listed).collect();
        for b in branches {
            let mine = listed(b);
            let value = match value {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .filter(|(k, _)| mine.contains(*k) || !all.contains(*k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                v => v.clone(),
            };
            validate(doc, b, &value, at, errors);
        }
    }
    if schema.get("not").is_some_and(passes) {
        errors.push(format!("{at}: {value} matches what `not` excludes"));
    }
    if schema.get("const").is_some_and(|c| c != value) {
        errors.push(format!("{at}: {value} is not {}", schema["const"]));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let matches = |t: &&str| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !types.iter().any(matches) {
            errors.push(format!("{at}: {value} is not of type {t}"));
            return;
        }
    }
    let limit = |k: &str| schema.get(k).and_then(Value::as_f64);
    match value {
        Value::Object(map) => {
            for k in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(k) {
                    errors.push(format!("{at}: required property {k} is missing"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (k, v) in map {
                let here = format!("{at}.{k}");
                if let Some(names) = schema.get("propertyNames") {
                    validate(doc, names, &json!(k), &format!("{here} (name)"), errors);
                }
                match (properties.and_then(|p| p.get(k)), additional) {
                    (Some(s), _) => validate(doc, s, v, &here, errors),
                    (None, Some(s)) if s.is_object() => validate(doc, s, v, &here, errors),
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(Value::Bool(false))) => {
                        errors.push(format!("{here}: property not allowed"));
                    }
                    (None, _) if properties.is_some() => {
                        errors.push(format!("{here}: property not documented"));
                    }
                    (None, _) => {}
                }
            }
            if limit("maxProperties").is_some_and(|m| map.len() as f64 > m) {
                errors.push(format!("{at}: too many properties"));
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    validate(doc, s, v, &format!("{at}[{i}]"), errors);
                }
            }
            if limit("maxItems").is_some_and(|m| items.len() as f64 > m)
                || limit("minItems").is_some_and(|m| (items.len() as f64) < m)
            {
                errors.push(format!("{at}: {} items is out of range", items.len()));
            }
            if schema["uniqueItems"] == true
                && items
                    .iter()
                    .map(Value::to_string)
                    .collect::<BTreeSet<_>>()
                    .len()
                    != items.len()
            {
                errors.push(format!("{at}: items are not unique"));
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as f64;
            if limit("maxLength").is_some_and(|m| len > m)
                || limit("minLength").is_some_and(|m| len < m)
            {
                errors.push(format!("{at}: {s:?} has a length out of range"));
            }
            if schema["format"] == "date-time"
                && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .is_err()
            {
                errors.push(format!("{at}: {s:?} is not an RFC 3339 time"));
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if limit("maximum").is_some_and(|m| n > m) || limit("minimum").is_some_and(|m| n < m) {
                errors.push(format!("{at}: {n} is out of range"));
            }
        }
        _ => {}
    }
}

/// Sends requests for documented operations and checks each answer against the document,
/// and each JSON request body against the documented request schema: one the server accepts
/// must validate, one it refuses as `invalid_body` must not.
struct Api<'a> {
    app: &'a TestApp,
    doc: &'a Value,
}

impl Api<'_> {
    fn request(&self, method: &str, path: &str, key: Option<&str>) -> RequestBuilder {
        let req = self.app.client.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            self.app.url(path),
        );
        match key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    /// `method template` at `path` with the admin key.
    async fn call(&self, method: &str, template: &str, path: &str, body: Option<Value>) -> Reply {
        self.send(
            method,
            template,
            path,
            Some(self.app.admin.as_str()),
            body,
            &[],
        )
        .await
    }

    async fn send(
        &self,
        method: &str,
        template: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.request(method, path, key);
        if let Some(b) = &body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = self.finish(method, template, req).await;
        if let Some(b) = &body {
            let o = operation(self.doc, method, template);
            let schema = &o.op["requestBody"]["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{}: no JSON request body documented",
                o.name()
            );
            let mut errors = Vec::new();
            validate(self.doc, schema, b, "$", &mut errors);
            if r.status.is_success() {
                assert!(
                    errors.is_empty(),
                    "{}: the server accepted {b} but the request schema refuses it: {errors:?}",
                    o.name()
                );
            }
            if r.code() == "invalid_body" {
                assert!(
                    !errors.is_empty(),
                    "{}: the server refused {b} ({}) but the request schema accepts it",
                    o.name(),
                    r.body
                );
            }
        }
        r
    }

    async fn finish(&self, method: &str, template: &str, req: RequestBuilder) -> Reply {
        let r = reply(req.send().await.unwrap()).await;
        check_reply(self.doc, &operation(self.doc, method, template), &r);
        r
    }
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_schemas_match_what_the_server_answers() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::documented_schemas_match").await else {
        return;
    };
    let doc = document();
    let api = Api {
        app: &app,
        doc: &doc,
    };

    // The document serves itself.
    let r = api
        .send(
            "GET",
            "/api/v1/openapi.json",
            "/api/v1/openapi.json",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, doc);

    // Programs.
    let r = api
        .call(
            "POST",
            "/api/v1/programs",
            "/api/v1/programs",
            Some(json!({
                "name": "OpenAPI Beans",
                "organization": "OpenAPI Beans Ltd",
                "pass_type_id": PASS_TYPE_ID,
                "team_id": TEAM_ID,
                "design": {
                    "colors": {"background": "#123", "foreground": "rgb(255, 255, 255)", "label": "#AABBCC"},
                    "logo_text": "Beans",
                    "description": "Beans loyalty card",
                    "layout": {"header": ["tier"], "primary": ["points"], "secondary": ["name"],
                               "auxiliary": ["next_tier"], "back": ["member_number", "lifetime_points", "member_since"]},
                    "labels": {"points": "Beans"},
                    "change_messages": {"points": "You have %@ beans"},
                    "back_fields": [{"key": "terms", "label": "Terms", "value": "Be nice."}],
                    "languages": ["en", "de"],
                    "localizations": {"de": {"Beans": "Bohnen"}}
                },
                "tiers": [
                    {"name": "Gold", "threshold": 30, "design": {"background_color": "#ffd700", "logo_text": "Gold"}},
                    {"name": "Bronze", "threshold": 0}
                ],
                "earn_rules": {"points_per_unit": "1.5", "multipliers": {"coffee": 2}}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let program = r.body["id"].as_str().unwrap().to_string();
    // Rates and colours are answered in their canonical string forms.
    assert_eq!(r.body["earn_rules"]["points_per_unit"], "1.5");
    assert_eq!(r.body["earn_rules"]["multipliers"]["coffee"], "2");
    assert_eq!(r.body["design"]["colors"]["background"], "#112233");
    assert_eq!(r.body["design"]["colors"]["label"], "#aabbcc");
    assert!(r.body["tiers"][0].get("design").is_none());
    assert_eq!(r.body["tiers"][1]["design"]["label_color"], Value::Null);

    let p = format!("/api/v1/programs/{program}");
    assert_eq!(
        api.call("GET", "/api/v1/programs", "/api/v1/programs", None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.call("GET", "/api/v1/programs/{id}", &p, None)
            .await
            .status,
        200
    );
    let r = api
        .call(
            "PATCH",
            "/api/v1/programs/{id}",
            &p,
            Some(json!({"name": "OpenAPI Beans 2"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call(
            "PUT",
            "/api/v1/programs/{id}/design",
            &format!("{p}/design"),
            Some(json!({"colors": {"background": "#000000"}, "languages": ["en", "de"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call(
            "PUT",
            "/api/v1/programs/{id}/tiers",
            &format!("{p}/tiers"),
            Some(json!([{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 30}])),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call(
            "PUT",
            "/api/v1/programs/{id}/earn_rules",
            &format!("{p}/earn_rules"),
            Some(json!({"points_per_unit": 1.5, "multipliers": {"coffee": "2.0", "cake": 0.125}})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["earn_rules"]["multipliers"]["cake"], "0.125");

    // Rewards.
    let rewards = format!("{p}/rewards");
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/rewards",
            &rewards,
            Some(json!({"name": "Free coffee", "cost": 100})),
        )
        .await;
    assert_eq!(r.status, 201);
    let reward = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.call("GET", "/api/v1/programs/{id}/rewards", &rewards, None)
            .await
            .status,
        200
    );
    let r = api
        .call(
            "PUT",
            "/api/v1/programs/{id}/rewards/{reward}",
            &format!("{rewards}/{reward}"),
            Some(json!({"name": "Free coffee", "cost": 120, "repeatable": true, "active": false})),
        )
        .await;
    assert_eq!(r.status, 200);

    // Images.
    let images = format!("{p}/images");
    assert_eq!(
        api.call("GET", "/api/v1/programs/{id}/images", &images, None)
            .await
            .status,
        200
    );
    let logo = passwright::wallet::apple::images::default_images()
        .into_iter()
        .find(|(n, _)| n == "logo.png")
        .unwrap()
        .1;
    let slot = "/api/v1/programs/{id}/images/{name}";
    let put = |bytes: Vec<u8>, content_type: &'static str| {
        api.request("PUT", &format!("{images}/logo"), Some(app.admin.as_str()))
            .header("Content-Type", content_type)
            .body(bytes)
    };
    let r = api
        .finish("PUT", slot, put(logo.clone(), "image/png"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .finish("PUT", slot, put(logo.clone(), "image/gif"))
        .await;
    r.assert_refused(415, "unsupported_media_type", None);
    let r = api
        .finish("PUT", slot, put(b"not a png".to_vec(), "image/png"))
        .await;
    assert_eq!(r.code(), "invalid_image");
    let r = api
        .call("DELETE", slot, &format!("{images}/logo.png"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call("DELETE", slot, &format!("{images}/logo"), None)
        .await;
    r.assert_refused(404, "not_found", None);

    // Members.
    let members = format!("{p}/members");
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/members",
            &members,
            Some(json!({
                "name": "Ada",
                "external_id": "crm-1",
                "email": "ada@example.com",
                "phone": "+49 151 1234-5678",
                "consent": {"email": true, "sms": true}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let member = r.body["id"].as_str().unwrap().to_string();
    let pass_url = r.body["pass_url"].as_str().unwrap().to_string();
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/members",
            &members,
            Some(json!({"name": "Bob"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api
        .call(
            "POST",
            "/api/v1/programs/{id}/members",
            &members,
            Some(json!({"name": "Eve", "external_id": "crm-1"})),
        )
        .await;
    assert_eq!(r.code(), "external_id_taken");
    let list = "/api/v1/programs/{id}/members";
    let r = api
        .call("GET", list, &format!("{members}?limit=1"), None)
        .await;
    assert_eq!(r.status, 200);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .call(
            "GET",
            list,
            &format!("{members}?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["next_cursor"]),
        (200, &Value::Null)
    );
    let r = api
        .call(
            "GET",
            list,
            &format!("{members}?status=active&external_id=crm-1"),
            None,
        )
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    for (query, code) in [
        ("limit=0", "validation_failed"),
        ("limit=501", "validation_failed"),
        ("status=deleted", "validation_failed"),
        ("cursor=zzz", "validation_failed"),
        ("limit=abc", "invalid_query"),
        ("sort=name", "invalid_query"),
    ] {
        let r = api
            .call("GET", list, &format!("{members}?{query}"), None)
            .await;
        assert_eq!(r.code(), code, "{query}");
    }

    let m = format!("/api/v1/members/{member}");
    assert_eq!(
        api.call("GET", "/api/v1/members/{id}", &m, None)
            .await
            .status,
        200
    );
    let r = api
        .call(
            "PATCH",
            "/api/v1/members/{id}",
            &m,
            Some(json!({"phone": null, "name": "Ada L."})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["consent"], json!({"email": true, "sms": false}));

    // The member's pass, and the public download link.
    let r = api
        .call(
            "GET",
            "/api/v1/members/{id}/pass",
            &format!("{m}/pass"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let modified = header(&r, "Last-Modified").to_string();
    let r = api
        .send(
            "GET",
            "/api/v1/members/{id}/pass",
            &format!("{m}/pass"),
            Some(app.admin.as_str()),
            None,
            &[("If-Modified-Since", &modified)],
        )
        .await;
    assert_eq!(r.status, 304);
    let download = pass_url.strip_prefix(&app.address).unwrap().to_string();
    let public = "/passes/{token}.pkpass";
    let r = api.send("GET", public, &download, None, None, &[]).await;
    assert_eq!(r.status, 200);
    let r = api
        .send(
            "GET",
            public,
            &download,
            None,
            None,
            &[("If-Modified-Since", header(&r, "Last-Modified"))],
        )
        .await;
    assert_eq!(r.status, 304);

    // Points: applied (201), replayed (200), refused without a key.
    let earn = "/api/v1/members/{id}/earn";
    let purchase = json!({"amount": "12.50", "product_types": ["coffee"], "reason": "Order 1"});
    let key = [("Idempotency-Key", "order-1")];
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(purchase.clone()),
            &key,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(header(&r, "Idempotent-Replayed"), "false");
    assert_eq!(r.body["entry"]["amount"], 37);
    assert_eq!(r.body["tier_changed"], true);
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(purchase.clone()),
            &key,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "Idempotent-Replayed"), "true");
    assert_eq!(r.body["replayed"], true);
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(json!({"amount": 3})),
            &key,
        )
        .await;
    assert_eq!(r.code(), "idempotency_key_reused");
    let r = api
        .call(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(r.code(), "idempotency_key_required");
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(json!({"amount": -1})),
            &[("Idempotency-Key", "order-2")],
        )
        .await;
    assert_eq!(r.code(), "invalid_body");
    let adjust = "/api/v1/members/{id}/adjust";
    let r = api
        .send(
            "POST",
            adjust,
            &format!("{m}/adjust"),
            Some(app.admin.as_str()),
            Some(json!({"points": -7, "reason": "Correction"})),
            &[("Idempotency-Key", "adj-1")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api
        .send(
            "POST",
            adjust,
            &format!("{m}/adjust"),
            Some(app.admin.as_str()),
            Some(json!({"points": -1000, "reason": "Too much"})),
            &[("Idempotency-Key", "adj-2")],
        )
        .await;
    assert_eq!(r.code(), "insufficient_points");
    let ledger = "/api/v1/members/{id}/ledger";
    let r = api
        .call("GET", ledger, &format!("{m}/ledger?limit=1"), None)
        .await;
    assert_eq!(r.status, 200);
    let before = r.body["next_before"].as_i64().unwrap();
    let r = api
        .call("GET", ledger, &format!("{m}/ledger?before={before}"), None)
        .await;
    assert_eq!(r.body["next_before"], Value::Null);
    let r = api
        .call("GET", ledger, &format!("{m}/ledger?before=x"), None)
        .await;
    assert_eq!(r.code(), "invalid_query");

    // Consent and messages (api/messages.rs).
    let consent = "/api/v1/members/{id}/consent";
    let r = api
        .call("GET", consent, &format!("{m}/consent"), None)
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.body["history"].as_array().unwrap().is_empty());
    let messages = "/api/v1/members/{id}/messages";
    let r = api
        .call("GET", messages, &format!("{m}/messages"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call("GET", messages, &format!("{m}/messages?limit=0"), None)
        .await;
    assert_eq!(r.code(), "validation_failed");

    // Re-issuing: a new download link, the old one dead.
    let reissue = "/api/v1/members/{id}/reissue";
    let r = api
        .call("POST", reissue, &format!("{m}/reissue"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = api.send("GET", public, &download, None, None, &[]).await;
    r.assert_refused(404, "not_found", None);

    // Voiding: changes are refused, and so is a re-issue.
    let void = "/api/v1/members/{id}/void";
    let r = api.call("POST", void, &format!("{m}/void"), None).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["status"]),
        (200, &json!("voided"))
    );
    let r = api
        .call("POST", reissue, &format!("{m}/reissue"), None)
        .await;
    assert_eq!(r.code(), "member_voided");
    let r = api.call("POST", void, &format!("{m}/void"), None).await;
    assert_eq!(r.status, 200);
    let r = api.send("GET", public, &download, None, None, &[]).await;
    r.assert_refused(404, "not_found", None);
    let r = api
        .call(
            "PATCH",
            "/api/v1/members/{id}",
            &m,
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(r.code(), "member_voided");
    let r = api
        .send(
            "POST",
            earn,
            &format!("{m}/earn"),
            Some(app.admin.as_str()),
            Some(json!({"amount": 1})),
            &[("Idempotency-Key", "order-3")],
        )
        .await;
    assert_eq!(r.code(), "member_voided");

    // API keys.
    let r = api
        .call(
            "POST",
            "/api/v1/keys",
            "/api/v1/keys",
            Some(json!({"name": "Counter", "role": "staff", "program_id": program})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let staff = r.body["secret"].as_str().unwrap().to_string();
    let staff_id = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            "POST",
            "/api/v1/keys",
            "/api/v1/keys",
            Some(json!({"name": "Root", "role": "root"})),
        )
        .await;
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(
        api.call("GET", "/api/v1/keys", "/api/v1/keys", None)
            .await
            .status,
        200
    );
    let r = api
        .send(
            "GET",
            "/api/v1/keys",
            "/api/v1/keys",
            Some(staff.as_str()),
            None,
            &[],
        )
        .await;
    r.assert_refused(403, "forbidden", None);
    let r = api
        .send(
            "POST",
            "/api/v1/programs",
            "/api/v1/programs",
            Some(staff.as_str()),
            Some(json!({"name": "X", "organization": "Y"})),
            &[],
        )
        .await;
    r.assert_refused(403, "forbidden", None);
    let r = api
        .send(
            "GET",
            "/api/v1/programs",
            "/api/v1/programs",
            Some(staff.as_str()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.body["programs"].as_array().unwrap().len(), 1);
    let r = api
        .call(
            "POST",
            "/api/v1/keys/{id}/revoke",
            &format!("/api/v1/keys/{staff_id}/revoke"),
            None,
        )
        .await;
    assert!(r.body["revoked_at"].is_string());
    let r = api
        .send(
            "GET",
            "/api/v1/programs",
            "/api/v1/programs",
            Some(staff.as_str()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.code(), "api_key_revoked");
    let r = api
        .send(
            "GET",
            "/api/v1/programs",
            "/api/v1/programs",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(r.code(), "unauthorized");

    // Bodies the server cannot take.
    let programs = "/api/v1/programs";
    let raw = |body: &'static str, content_type: &'static str| {
        api.request("POST", programs, Some(app.admin.as_str()))
            .header("Content-Type", content_type)
            .body(body)
    };
    let r = api
        .finish("POST", programs, raw("{not json", "application/json"))
        .await;
    assert_eq!(r.code(), "malformed_json");
    let r = api.finish("POST", programs, raw("{}", "text/plain")).await;
    assert_eq!(r.code(), "unsupported_media_type");
    let r = api
        .call(
            "POST",
            programs,
            programs,
            Some(json!({"name": "x".repeat(300 * 1024), "organization": "y"})),
        )
        .await;
    assert_eq!(r.code(), "payload_too_large");
    let r = api
        .call(
            "POST",
            programs,
            programs,
            Some(json!({"name": "X", "organization": "Y", "team_id": "OTHERTEAM1"})),
        )
        .await;
    assert_eq!(r.code(), "certificate_mismatch");

    // Every body documented with `additionalProperties: false` is refused with an unknown field.
    let ids = Ids {
        program: program.clone(),
        member: member.clone(),
        reward: reward.clone(),
        key: staff_id.clone(),
        image: "logo".into(),
        token: String::new(),
        webhook: Ids::unknown().webhook,
    };
    let mut strict = 0;
    for o in operations(&doc) {
        let schema = &o.op["requestBody"]["content"]["application/json"]["schema"];
        if !schema.is_object() || resolve(&doc, schema)["additionalProperties"] != false {
            continue;
        }
        strict += 1;
        let r = api
            .send(
                &o.method,
                o.path,
                &ids.path(o.path),
                Some(app.admin.as_str()),
                Some(json!({"openapi_unknown_field": true})),
                &[("Idempotency-Key", "unknown-field")],
            )
            .await;
        assert_eq!(r.code(), "invalid_body", "{}: {}", o.name(), r.body);
    }
    assert!(strict >= 10, "only {strict} strict request bodies");

    // Health and metrics.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = api.send("GET", path, path, None, None, &[]).await;
        assert_eq!(r.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_answers_match_the_document() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::webhook_answers_match").await else {
        return;
    };
    let doc = document();
    let api = Api {
        app: &app,
        doc: &doc,
    };
    let program = app.sample_program().await;
    let hooks = format!("/api/v1/programs/{program}/webhooks");
    let collection = "/api/v1/programs/{id}/webhooks";
    let r = api
        .call(
            "POST",
            collection,
            &hooks,
            Some(json!({"url": "http://127.0.0.1:9/in", "events": ["points.changed"], "description": "CRM"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            "POST",
            collection,
            &hooks,
            Some(json!({"url": "mailto:x@example.com"})),
        )
        .await;
    assert_eq!(r.code(), "validation_failed");
    let r = api
        .call(
            "POST",
            collection,
            &hooks,
            Some(json!({"url": "https://e.com/", "events": "points.changed"})),
        )
        .await;
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(api.call("GET", collection, &hooks, None).await.status, 200);
    let one = "/api/v1/webhooks/{id}";
    let path = format!("/api/v1/webhooks/{id}");
    assert_eq!(api.call("GET", one, &path, None).await.status, 200);
    let r = api
        .call(
            "PATCH",
            one,
            &path,
            Some(json!({"events": ["*"], "active": false, "description": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call("PATCH", one, &path, Some(json!({"active": "yes"})))
        .await;
    assert_eq!(r.code(), "invalid_body");
    let rotate = "/api/v1/webhooks/{id}/rotate-secret";
    let r = api
        .call("POST", rotate, &format!("{path}/rotate-secret"), None)
        .await;
    assert_eq!(r.status, 200);
    // One delivered event, so a delivery record is checked against its schema too.
    let r = api
        .call("PATCH", one, &path, Some(json!({"active": true})))
        .await;
    assert_eq!(r.status, 200);
    let member = app.member(&program, "Ada").await;
    let r = app
        .adjust(&member, "openapi-hook", json!({"points": 3, "reason": "x"}))
        .await;
    assert_eq!(r.status, 201);
    app.state.outbox.drain().await.unwrap();
    let deliveries = "/api/v1/webhooks/{id}/deliveries";
    let r = api
        .call(
            "GET",
            deliveries,
            &format!("{path}/deliveries?limit=10"),
            None,
        )
        .await;
    assert_eq!(
        r.body["deliveries"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    let r = api
        .call(
            "GET",
            deliveries,
            &format!("{path}/deliveries?limit=x"),
            None,
        )
        .await;
    assert_eq!(r.code(), "invalid_query");
    assert_eq!(api.call("DELETE", one, &path, None).await.status, 204);
    api.call("DELETE", one, &path, None)
        .await
        .assert_refused(404, "not_found", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_answers_match_the_document() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::link_answers_match").await else {
        return;
    };
    let doc = document();
    let api = Api {
        app: &app,
        doc: &doc,
    };
    let program = app.sample_program().await;
    let spring = crate::landing::campaign(&app, &program, "print").await;
    let collection = "/api/v1/programs/{id}/links";
    let links = format!("/api/v1/programs/{program}/links");
    let body = json!({"campaign_id": spring, "channel": "print", "label": "Poster"});
    let r = api.call("POST", collection, &links, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_string();
    let r = api
        .call("POST", collection, &links, Some(json!({"channel": "fax"})))
        .await;
    assert_eq!(r.code(), "validation_failed");
    let member = app.member(&program, "Ada").await;
    let card = "/api/v1/members/{id}/links";
    let path = format!("/api/v1/members/{member}/links");
    assert_eq!(
        api.call("POST", card, &path, Some(json!({}))).await.status,
        201
    );
    assert_eq!(
        api.call("POST", card, &path, Some(json!({}))).await.status,
        200
    );
    let r = api
        .call(
            "GET",
            collection,
            &format!("{links}?member_id={member}"),
            None,
        )
        .await;
    assert_eq!(r.body["links"].as_array().unwrap().len(), 1);
    let r = api
        .call("GET", collection, &format!("{links}?limit=0"), None)
        .await;
    assert_eq!(r.code(), "validation_failed");
    let one = "/api/v1/links/{code}";
    let path = format!("/api/v1/links/{code}");
    assert_eq!(api.call("GET", one, &path, None).await.status, 200);
    assert_eq!(api.call("DELETE", one, &path, None).await.status, 204);
    let r = api.call("GET", one, &path, None).await;
    assert!(r.body["revoked_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_answers_match_the_document() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::report_answers_match").await else {
        return;
    };
    let doc = document();
    let api = Api {
        app: &app,
        doc: &doc,
    };
    let program = app.sample_program().await;
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            &app.admin,
            json!({"name": "Main"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let member = app.member(&program, "Ada").await;
    let r = app
        .earn(&member, &app.admin, "report", json!({"amount": 120}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let json = "/api/v1/programs/{id}/reports";
    let path = format!("/api/v1/programs/{program}/reports");
    let r = api.call("GET", json, &path, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totals"]["members_enrolled"], 1, "{}", r.body);
    assert_eq!(
        r.body["totals"]["points_redemption_rate"], 0.0,
        "{}",
        r.body
    );
    assert_eq!(r.body["locations"].as_array().unwrap().len(), 1);
    let r = api
        .call("GET", json, &format!("{path}?period=week"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call("GET", json, &format!("{path}?period=year"), None)
        .await;
    assert_eq!(r.code(), "validation_failed");
    let r = api
        .call("GET", json, &format!("{path}?sort=name"), None)
        .await;
    assert_eq!(r.code(), "invalid_query");
    let csv = "/api/v1/programs/{id}/reports.csv";
    let r = api
        .call(
            "GET",
            csv,
            &format!("{path}.csv?period=week&from=2026-03-02&to=2026-03-15"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"passwright-report-week-2026-03-02-2026-03-15.csv\""
    );
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(text.starts_with("period_start,period_end,"), "{text}");
    let chart = "/api/v1/programs/{id}/reports/charts/{name}.svg";
    for name in ["redemption_rate", "funnel", "top_rewards", "locations"] {
        let r = api
            .call(
                "GET",
                chart,
                &format!("{path}/charts/{name}.svg?period=week"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(header(&r, "cache-control"), "no-store");
        assert!(String::from_utf8_lossy(&r.bytes).contains("<svg"), "{name}");
    }
    let r = api
        .call("GET", chart, &format!("{path}/charts/pie.svg"), None)
        .await;
    r.assert_refused(404, "not_found", None);
    let r = api
        .call(
            "GET",
            chart,
            &format!("{path}/charts/funnel.svg?period=year"),
            None,
        )
        .await;
    assert_eq!(r.code(), "validation_failed");
    let other = app
        .create_key("marketer", Some(&app.sample_program().await))
        .await;
    let r = api
        .send("GET", json, &path, Some(other.as_str()), None, &[])
        .await;
    r.assert_refused(403, "forbidden", None);
}
