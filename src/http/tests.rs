//! The OpenAPI document against the code: the committed file is the generated one, and every
//! route registered from its documentation is in it.

use super::*;

/// CI fails here when the committed document is not what the code describes.
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = document_text().unwrap();
    let committed = include_str!("../../docs/openapi.json");
    if generated != committed {
        let line = generated
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(generated.lines().count().min(committed.lines().count()))
            + 1;
        panic!(
            "docs/openapi.json is stale (first difference at line {line}); \
             write it again with `cargo run -- openapi > docs/openapi.json`"
        );
    }
}

#[test]
fn documented_routes_are_registered_under_their_scope() {
    let doc: serde_json::Value = serde_json::from_str(&document_text().unwrap()).unwrap();
    let all = routes();
    assert!(all.len() > 1);
    for routes in &all {
        let scope = routes.scope();
        assert!(!routes.registered().is_empty(), "nothing under {scope:?}");
        for r in routes.registered() {
            assert!(r.path.starts_with(scope), "{} is outside {scope}", r.path);
            let op = &doc["paths"][&r.path][r.method.as_str().to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} is registered but not in the document",
                r.method,
                r.path
            );
        }
    }
}

/// Every `$ref` names something in the document (a schema referred to by name, like an
/// endpoint's `EventSelector`s, must be one the document has).
#[test]
fn every_reference_resolves() {
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&document_text().unwrap()).unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    let dangling: Vec<_> = all
        .into_iter()
        .filter(|r| {
            r.strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}

/// An error code a response's description names is answered with that response's status
/// (each code has one: `ErrorCode::status`), so the document never promises a code under a
/// status it cannot come with.
#[test]
fn each_named_error_code_has_its_responses_status() {
    use crate::http::error_code::ErrorCode;
    let doc: serde_json::Value = serde_json::from_str(&document_text().unwrap()).unwrap();
    let mut wrong = Vec::new();
    let mut named = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let description = response["description"].as_str().unwrap_or("");
                for word in description.split('`').skip(1).step_by(2) {
                    let Some(code) = ErrorCode::ALL.iter().find(|c| c.as_str() == word) else {
                        continue;
                    };
                    named += 1;
                    if code.status().as_str() != status {
                        wrong.push(format!(
                            "{method} {path} {status}: `{word}` is answered with {}",
                            code.status().as_u16()
                        ));
                    }
                }
            }
        }
    }
    assert!(named > 50, "only {named} codes named");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
