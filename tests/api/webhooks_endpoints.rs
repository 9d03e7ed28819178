//! Managing webhook endpoints through the API: created with a secret shown once, validated,
//! patched (re-enabling clears passwright's reason), the secret rotated, scoped to the key's
//! program and role, and deleted.

use passwright::domain::ids::WebhookId;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::webhooks::patch;

both_engines!(
    endpoints_are_managed_validated_and_scoped,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        let hooks = format!("/api/v1/programs/{program}/webhooks");
        let r = app
            .post(
                &hooks,
                &app.admin,
                json!({
                    "url": "https://hooks.example.com/passwright?t=1",
                    "events": ["points.changed", "card.installed", "points.changed"],
                    "description": "CRM sync"
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let secret = r.body["secret"].as_str().unwrap().to_string();
        assert!(
            secret.starts_with("whsec_") && secret.len() > 30,
            "{secret}"
        );
        assert_eq!(
            r.body["events"],
            json!(["points.changed", "card.installed"])
        );
        assert_eq!(r.body["active"], true);
        assert_eq!(r.body["disabled_reason"], Value::Null);
        // Without events: all of them.
        let r = app
            .post(&hooks, &app.admin, json!({"url": "http://127.0.0.1:9/x"}))
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(r.body["events"], json!(["*"]));

        // The secret is shown once: never in reads.
        let list = app.get(&hooks, &app.admin).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["webhooks"].as_array().unwrap().len(), 2);
        assert!(
            !list.bytes.windows(6).any(|w| w == b"whsec_"),
            "{}",
            list.body
        );
        let one = app.get(&format!("/api/v1/webhooks/{id}"), &app.admin).await;
        assert_eq!(one.body["description"], "CRM sync");
        assert!(one.body.get("secret").is_none());

        // Validation: 422 with the field.
        for (body, field) in [
            (json!({"url": "ftp://example.com/"}), "url"),
            (json!({"url": "https://u:p@example.com/"}), "url"),
            (json!({"url": "nope"}), "url"),
            (json!({"url": "https://e.com/", "events": []}), "events"),
            (
                json!({"url": "https://e.com/", "events": ["points.changed", "scan.done"]}),
                "events[1]",
            ),
            (
                json!({"url": "https://e.com/", "description": " "}),
                "description",
            ),
        ] {
            let r = app.post(&hooks, &app.admin, body.clone()).await;
            assert_eq!(
                (
                    r.status.as_u16(),
                    r.code(),
                    r.body["error"]["field"].as_str()
                ),
                (422, "validation_failed", Some(field)),
                "{body}: {:?}",
                r.body
            );
        }
        let r = app
            .post(
                &hooks,
                &app.admin,
                json!({"url": "https://e.com/", "secret": "x"}),
            )
            .await;
        assert_eq!(r.code(), "invalid_body");
        assert_eq!(
            app.count("webhook_endpoints").await,
            2,
            "refusals wrote nothing"
        );

        // PATCH: events, state, description; re-enabling clears passwright's reason.
        let path = format!("/api/v1/webhooks/{id}");
        let r = patch(
            &app,
            &app.admin,
            &path,
            json!({"events": ["*"], "active": false, "description": null}),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(
            (&r.body["events"], &r.body["active"], &r.body["description"]),
            (&json!(["*"]), &json!(false), &Value::Null)
        );
        let wid = WebhookId::parse(&id).unwrap();
        app.state
            .store
            .disable_webhook(&wid, "410 Gone", passwright::clock::system_now())
            .await
            .unwrap();
        let r = app.get(&path, &app.admin).await;
        assert_eq!(r.body["disabled_reason"], "410 Gone");
        let r = patch(
            &app,
            &app.admin,
            &path,
            json!({"active": true, "url": "https://new.example.com/in"}),
        )
        .await;
        assert_eq!(
            (
                &r.body["active"],
                &r.body["disabled_reason"],
                &r.body["url"]
            ),
            (
                &json!(true),
                &Value::Null,
                &json!("https://new.example.com/in")
            )
        );
        let r = patch(&app, &app.admin, &path, json!({"events": ["nope"]})).await;
        assert_eq!(r.body["error"]["field"], "events[0]");

        // A new secret, shown once.
        let r = app
            .post(&format!("{path}/rotate-secret"), &app.admin, json!({}))
            .await;
        assert_eq!(r.status, 200);
        let rotated = r.body["secret"].as_str().unwrap();
        assert!(rotated.starts_with("whsec_"));
        assert_ne!(rotated, secret);

        // Scope: keys of another program, and staff, are refused; the program's marketer is not.
        let outsider = app.create_key("marketer", Some(&other)).await;
        let staff = app.create_key("staff", Some(&program)).await;
        let marketer = app.create_key("marketer", Some(&program)).await;
        for key in [&outsider, &staff] {
            app.get(&path, key)
                .await
                .assert_refused(403, "forbidden", None);
            app.get(&hooks, key)
                .await
                .assert_refused(403, "forbidden", None);
            assert_eq!(
                app.post(&hooks, key, json!({"url": "https://e.com/"}))
                    .await
                    .status,
                403
            );
            assert_eq!(
                patch(&app, key, &path, json!({"active": false}))
                    .await
                    .status,
                403
            );
            assert_eq!(
                app.send(Method::DELETE, &path, Some(key), None, &[])
                    .await
                    .status,
                403
            );
            assert_eq!(
                app.get(&format!("{path}/deliveries"), key).await.status,
                403
            );
        }
        assert_eq!(app.get(&path, &marketer).await.status, 200);
        assert_eq!(
            app.get(&format!("{path}/deliveries?limit=0"), &marketer)
                .await
                .body["error"]["field"],
            "limit"
        );

        // Delete: gone for good; unknown and malformed ids are 404.
        let r = app
            .send(Method::DELETE, &path, Some(&marketer), None, &[])
            .await;
        assert_eq!(r.status, 204);
        app.get(&path, &app.admin)
            .await
            .assert_refused(404, "not_found", None);
        assert_eq!(
            app.get("/api/v1/webhooks/whk_x", &app.admin).await.status,
            404
        );
        assert_eq!(app.count("webhook_endpoints").await, 1);
    }
);
