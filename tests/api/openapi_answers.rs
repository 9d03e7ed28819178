//! The API's answers match docs/openapi.json (openapi.rs has the checker): programs,
//! rewards, images, API keys, bodies the server cannot take and the health routes; members,
//! passes and points are in openapi_answers_members.rs.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::openapi::*;
use crate::openapi_answers_members::members_passes_and_points;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_schemas_match_what_the_server_answers() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::documented_schemas_match").await else {
        return;
    };
    let doc = document();
    let api = Api::new(&app, &doc);

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
    let artwork = "/api/v1/programs/{id}/artwork/{kind}";
    let mut strip = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut strip)
        .encode(
            &[200u8; 1200 * 400 * 3],
            1200,
            400,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let upload = |kind: &str, bytes: Vec<u8>| {
        api.request(
            "PUT",
            &format!("{p}/artwork/{kind}"),
            Some(app.admin.as_str()),
        )
        .header("Content-Type", "image/jpeg")
        .body(bytes)
    };
    let r = api.finish("PUT", artwork, upload("strip", strip)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .finish("PUT", artwork, upload("logo", b"not a picture".to_vec()))
        .await;
    r.assert_refused(422, "invalid_image", None);
    let r = api
        .call("DELETE", slot, &format!("{images}/logo.png"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .call("DELETE", slot, &format!("{images}/logo"), None)
        .await;
    r.assert_refused(404, "not_found", None);

    // Members, their passes and points (openapi_answers_members.rs).
    let member = members_passes_and_points(&api, &p).await;

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
