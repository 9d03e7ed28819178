//! Bad input answers 4xx with a stable code and writes nothing.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(
    bad_input_is_refused_and_nothing_written,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let before = (
            app.count("programs").await,
            app.count("members").await,
            app.count("ledger_entries").await,
        );

        let raw = |path: String, body: &'static str, ctype: &'static str| {
            let req = app
                .client
                .post(app.url(&path))
                .bearer_auth(&app.admin)
                .header("Content-Type", ctype)
                .header("Idempotency-Key", "k")
                .body(body);
            async move { reply(req.send().await.unwrap()).await }
        };
        let r = raw("/api/v1/programs".into(), "{\"name\": ", "application/json").await;
        r.assert_refused(400, "malformed_json", None);
        let r = raw(
            "/api/v1/programs".into(),
            "name=x",
            "application/x-www-form-urlencoded",
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (415, "unsupported_media_type")
        );
        let r = app
            .create_program(
                &app.admin,
                json!({"name": "X", "organization": "Y", "colour": "red"}),
            )
            .await;
        r.assert_refused(422, "invalid_body", None);
        assert!(r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"));
        let r = app
            .create_program(&app.admin, json!({"name": "", "organization": "Y"}))
            .await;
        assert_eq!(
            (
                r.status.as_u16(),
                r.code(),
                r.body["error"]["field"].as_str()
            ),
            (422, "validation_failed", Some("name"))
        );
        let r = app
            .create_program(
                &app.admin,
                json!({"name": "X", "organization": "Y", "pass_type_id": "pass.com.other.id"}),
            )
            .await;
        r.assert_refused(422, "certificate_mismatch", None);
        let r = app.create_program(&app.admin, json!({"name": "X", "organization": "Y", "tiers": [{"name": "A", "threshold": -5}]})).await;
        assert_eq!(r.body["error"]["field"], "tiers[0].threshold");

        // Oversized bodies.
        let big = "x".repeat(300 * 1024);
        let r = app
            .create_program(&app.admin, json!({"name": big, "organization": "Y"}))
            .await;
        r.assert_refused(413, "payload_too_large", None);

        // Points: negative, overflowing, fractional beyond cents, wrong types.
        let earn =
            |body: serde_json::Value, key: &'static str| app.earn(&member, &app.admin, key, body);
        earn(json!({"amount": "-5"}), "b1")
            .await
            .assert_refused(422, "invalid_body", None);
        earn(json!({"amount": "1.001"}), "b2")
            .await
            .assert_refused(422, "invalid_body", None);
        assert_eq!(
            earn(json!({"amount": "99999999999999"}), "b3").await.status,
            422
        );
        earn(json!({"amount": "ten"}), "b4")
            .await
            .assert_refused(422, "invalid_body", None);
        assert_eq!(
            earn(json!({"amount": 5, "product_types": ["Not A Slug"]}), "b5")
                .await
                .status,
            422
        );
        let r = app
            .adjust(
                &member,
                "b6",
                json!({"points": 9_223_372_036_854_775_807i64, "reason": "overflow"}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"]["field"].as_str()),
            (422, Some("points"))
        );
        let r = app
            .adjust(
                &member,
                "b7",
                json!({"points": 10, "reason": "x", "extra": 1}),
            )
            .await;
        r.assert_refused(422, "invalid_body", None);

        // Unknown and malformed ids.
        for path in [
            "/api/v1/programs/prg_aaaaaaaaaaaaaaaa",
            "/api/v1/programs/nope",
            "/api/v1/members/mem_aaaaaaaaaaaaaaaa",
            "/api/v1/members/1",
        ] {
            let r = app.get(path, &app.admin).await;
            assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"), "{path}");
        }
        let r = app
            .send(
                reqwest::Method::DELETE,
                "/api/v1/programs",
                Some(&app.admin),
                None,
                &[],
            )
            .await;
        r.assert_refused(405, "method_not_allowed", None);
        let r = app.get("/api/v1/no/such/route", &app.admin).await;
        r.assert_refused(404, "not_found", None);
        let r = app
            .get(
                &format!("/api/v1/programs/{program}/members?limit=100000"),
                &app.admin,
            )
            .await;
        r.assert_refused(422, "validation_failed", Some("limit"));
        let r = app
            .get(
                &format!("/api/v1/programs/{program}/members?cursor=zzz"),
                &app.admin,
            )
            .await;
        r.assert_refused(422, "validation_failed", Some("cursor"));

        // Bad images: not PNG, truncated PNG, wrong content type, too large.
        let put_image = |name: &'static str, bytes: Vec<u8>, ctype: &'static str| {
            let req = app
                .client
                .put(app.url(&format!("/api/v1/programs/{program}/images/{name}")))
                .bearer_auth(&app.admin)
                .header("Content-Type", ctype)
                .body(bytes);
            async move { reply(req.send().await.unwrap()).await }
        };
        let r = put_image("logo", b"GIF89a-not-a-png".to_vec(), "image/png").await;
        r.assert_refused(422, "invalid_image", None);
        let mut truncated = passwright::wallet::apple::images::default_images()
            .into_iter()
            .find(|(n, _)| n == "logo.png")
            .unwrap()
            .1;
        truncated.truncate(truncated.len() / 2);
        let r = put_image("logo", truncated, "image/png").await;
        r.assert_refused(422, "invalid_image", None);
        let r = put_image("logo", vec![0u8; 10], "image/jpeg").await;
        r.assert_refused(415, "unsupported_media_type", None);
        let r = put_image("logo", vec![0u8; 5 * 1024 * 1024], "image/png").await;
        r.assert_refused(413, "payload_too_large", None);
        let r = put_image("background", vec![0u8; 10], "image/png").await;
        r.assert_refused(404, "not_found", None);
        assert_eq!(app.count("program_images").await, 0);

        let after = (
            app.count("programs").await,
            app.count("members").await,
            app.count("ledger_entries").await,
        );
        assert_eq!(before, after, "refused requests must not write");
    }
);
