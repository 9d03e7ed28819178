//! `docs/openapi.json` kept honest: a well-formed OpenAPI 3.1 document whose operations are
//! exactly the routes the server registers, answering only documented statuses, with bodies
//! that match the documented schemas.
//!
//! This file holds what the stories share: the document and its operations, and the checker
//! [`Api`], which sends requests and checks each answer (and each JSON request body) against
//! the document with the `jsonschema` crate ([`Schemas`]). The stories: the document and its
//! routes (openapi_document.rs); programs, rewards, images and keys (openapi_answers.rs);
//! members, passes and points (openapi_answers_members.rs); webhooks and links
//! (openapi_webhooks_links.rs); reports (openapi_reports.rs).

use std::collections::HashMap;
use std::sync::Mutex;

use jsonschema::{Draft, Registry, Validator};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::*;

pub const DOCUMENT: &str = include_str!("../../docs/openapi.json");

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("docs/openapi.json is not valid JSON")
}

/// One documented operation.
pub struct Op<'a> {
    /// Upper case, as on the wire.
    pub method: String,
    pub path: &'a str,
    pub item: &'a Value,
    pub op: &'a Value,
}

impl Op<'_> {
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The JSON pointer to the operation in the document.
    fn pointer(&self) -> String {
        format!("/paths/{}/{}", token(self.path), self.method.to_lowercase())
    }
}

pub fn operations(doc: &Value) -> Vec<Op<'_>> {
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

pub fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Op<'a> {
    operations(doc)
        .into_iter()
        .find(|o| o.method == method && o.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
}

/// Follows `$ref`s (local JSON pointers) to the value they name.
pub fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
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

/// `pointer`, or the pointer of what the value there names once its `$ref`s (local JSON
/// pointers) are followed.
fn follow(doc: &Value, mut pointer: String) -> String {
    for _ in 0..16 {
        match doc.pointer(&pointer).and_then(|v| v["$ref"].as_str()) {
            Some(r) => pointer = r.strip_prefix('#').unwrap_or(r).to_string(),
            None => return pointer,
        }
    }
    panic!("$ref chain too long");
}

/// `s` as one token of a JSON pointer.
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Path-item and operation parameters, resolved.
pub fn parameters<'a>(doc: &'a Value, o: &Op<'a>) -> Vec<&'a Value> {
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
pub fn placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect()
}

/// The document's schemas, checked by the `jsonschema` crate in draft 2020-12 (the dialect
/// of OpenAPI 3.1). The document, [`closed`], is registered whole as one resource under
/// [`Schemas::URI`], and a value is checked against `{"$ref": "<URI>#<pointer>"}`, so the
/// document's own `#/components/...` references resolve inside it. Formats are checked too
/// (`date-time`, `date`, `email`, `uri`; OpenAPI's `int64` and the like are not JSON Schema
/// formats and are ignored).
pub struct Schemas {
    registry: Registry<'static>,
    /// Compiled once per schema, by pointer.
    validators: Mutex<HashMap<String, Validator>>,
}

impl Schemas {
    pub const URI: &'static str = "urn:passwright:openapi";

    pub fn new(doc: &Value) -> Schemas {
        let registry = Registry::new()
            .add(Self::URI, Draft::Draft202012.create_resource(closed(doc)))
            .and_then(|r| r.prepare())
            .expect("docs/openapi.json cannot be registered as a schema resource");
        Schemas {
            registry,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// What is wrong with `value` as the schema at `pointer` (a JSON pointer into the
    /// document) describes it: empty when nothing is.
    pub fn errors(&self, pointer: &str, value: &Value) -> Vec<String> {
        let mut validators = self.validators.lock().unwrap();
        let validator = validators.entry(pointer.to_string()).or_insert_with(|| {
            // The pointer goes in a URI fragment: what a fragment may not hold (the `{` and `}`
            // of path templates) is percent-encoded.
            let fragment: String = pointer
                .bytes()
                .map(|b| match b {
                    b if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) => {
                        char::from(b).to_string()
                    }
                    b => format!("%{b:02X}"),
                })
                .collect();
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .with_registry(&self.registry)
                .should_validate_formats(true)
                .build(&json!({"$ref": format!("{}#{fragment}", Self::URI)}))
                .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"))
        });
        validator
            .iter_errors(value)
            .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
            .collect()
    }
}

/// The document the checks use: a copy in which every object schema that lists `properties`
/// and does not say itself whether others are allowed (`additionalProperties` or
/// `unevaluatedProperties`) is closed with `"unevaluatedProperties": false`. JSON Schema
/// allows undocumented properties, and utoipa writes `additionalProperties: false` only for
/// `#[serde(deny_unknown_fields)]` types; closed, an undocumented field in an answer or a
/// request body fails the check.
///
/// An `allOf` describes one object by parts (a report row is its figures and its own fields):
/// closing a part would refuse the other parts' properties. So its parts stay open (a part
/// that is a `$ref` is replaced by an open copy of what it names, as the component is closed
/// where it is used alone) and the `allOf` schema itself is closed: `unevaluatedProperties`
/// counts the properties its parts evaluated. The alternatives of a `oneOf` or `anyOf` each
/// describe the whole value and are closed on their own, unless the schema beside them lists
/// properties too, when they are parts like an `allOf`'s.
fn closed(doc: &Value) -> Value {
    fn close(doc: &Value, v: &mut Value, part: bool) {
        match v {
            Value::Object(map) => {
                let lists = map.get("properties").is_some_and(Value::is_object);
                let says = map.contains_key("additionalProperties")
                    || map.contains_key("unevaluatedProperties");
                if !part && !says && (lists || map.contains_key("allOf")) {
                    map.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                for (key, child) in map.iter_mut() {
                    let parts = key == "allOf" || (lists && (key == "oneOf" || key == "anyOf"));
                    match child {
                        Value::Array(items) if parts => {
                            for item in items {
                                if item.get("$ref").is_some() {
                                    *item = resolve(doc, item).clone();
                                }
                                close(doc, item, true);
                            }
                        }
                        _ => close(doc, child, false),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| close(doc, v, false)),
            _ => {}
        }
    }
    let mut copy = doc.clone();
    close(doc, &mut copy, false);
    copy
}

/// Ids for path parameters, by the collection they follow and the parameter name.
pub struct Ids {
    pub program: String,
    pub member: String,
    pub reward: String,
    pub key: String,
    pub image: String,
    pub token: String,
    pub webhook: String,
}

impl Ids {
    /// Well-formed ids that name nothing.
    pub fn unknown() -> Ids {
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
    pub fn path(&self, template: &str) -> String {
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
                ("kind", _) => "logo",
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
                // No such console user.
                ("id", _) if template.starts_with("/console/users/") => "usr_aaaaaaaaaaaaaaaa",
                ("id", _) if template.starts_with("/console/members/") => &self.member,
                ("id", _) if template.starts_with("/console/programs/") => &self.program,
                ("id", _) if template.starts_with("/console/imports/") => "imp_aaaaaaaaaaaaaaaa",
                _ => panic!("no test value for {{{name}}} in {template}; add one to Ids"),
            };
            path = path.replace(&format!("{{{name}}}"), value);
        }
        path
    }
}

/// Checks an answer against the operation's documented responses: the status, the documented
/// headers, the content type and (for JSON) the schema.
pub fn check_reply(doc: &Value, schemas: &Schemas, o: &Op<'_>, r: &Reply) {
    let name = o.name();
    let status = r.status.as_str();
    if o.op["responses"].get(status).is_none() {
        panic!(
            "{name} answered {status}, which is not documented: {}",
            String::from_utf8_lossy(&r.bytes)
        );
    }
    let at = follow(doc, format!("{}/responses/{status}", o.pointer()));
    let response = doc.pointer(&at).unwrap_or(&Value::Null);
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
    if !content.contains_key(content_type) {
        panic!("{name} {status}: Content-Type {content_type:?} is not documented");
    }
    if content_type == "application/json" {
        let schema = format!("{at}/content/{}/schema", token(content_type));
        let errors = schemas.errors(&schema, &r.body);
        assert!(
            errors.is_empty(),
            "{name} {status}: the answer does not match the documented schema:\n  {}\nbody: {}",
            errors.join("\n  "),
            r.body
        );
    }
}

/// Sends requests for documented operations and checks each answer against the document,
/// and each JSON request body against the documented request schema: one the server accepts
/// must validate, one it refuses as `invalid_body` must not.
pub struct Api<'a> {
    pub app: &'a TestApp,
    /// The document as written (the server serves it; requests are made from it).
    pub doc: &'a Value,
    /// Its schemas, closed, as the checks use them.
    pub schemas: Schemas,
}

impl<'a> Api<'a> {
    pub fn new(app: &'a TestApp, doc: &'a Value) -> Api<'a> {
        Api {
            app,
            doc,
            schemas: Schemas::new(doc),
        }
    }

    pub fn request(&self, method: &str, path: &str, key: Option<&str>) -> RequestBuilder {
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
    pub async fn call(
        &self,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
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

    pub async fn send(
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
            let at = follow(self.doc, format!("{}/requestBody", o.pointer()));
            let schema = format!("{at}/content/application~1json/schema");
            assert!(
                self.doc.pointer(&schema).is_some_and(Value::is_object),
                "{}: no JSON request body documented",
                o.name()
            );
            let errors = self.schemas.errors(&schema, b);
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

    pub async fn finish(&self, method: &str, template: &str, req: RequestBuilder) -> Reply {
        let r = reply(req.send().await.unwrap()).await;
        let o = operation(self.doc, method, template);
        check_reply(self.doc, &self.schemas, &o, &r);
        r
    }
}

pub fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
