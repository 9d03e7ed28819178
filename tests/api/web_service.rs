//! The PassKit web service as Wallet uses it: registration, serials updated since a tag,
//! the latest pass with Last-Modified / 304, logs, tokens, limits. On both engines.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::device::{install, pass_json, push_token, Device};
use crate::helpers::*;

pub fn balance(pkpass: &[u8]) -> i64 {
    crate::passes::field(&pass_json(pkpass), "points")
        .as_i64()
        .unwrap()
}

both_engines!(
    tags_never_miss_a_change_and_last_modified_always_moves,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let other = app.member(&program, "Bob").await;
        let pass = install(&app, &member).await;
        let other_pass = install(&app, &other).await;
        let mut phone = Device::new("a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8", &push_token(1));
        let url = pass.web_service_url.clone();

        assert_eq!(
            phone.updated(&url, &pass.pass_type).await.0,
            204,
            "unknown device"
        );
        assert_eq!(phone.register(&pass).await, 201);
        assert_eq!(phone.register(&pass).await, 200, "already registered");
        assert_eq!(phone.register(&other_pass).await, 201);

        let (status, serials) = phone.updated(&url, &pass.pass_type).await;
        assert_eq!(status, 200);
        let mut both = vec![pass.serial.clone(), other_pass.serial.clone()];
        both.sort();
        assert_eq!(serials, both, "first call lists every registered pass");
        assert_eq!(
            phone.updated(&url, &pass.pass_type).await.0,
            204,
            "nothing changed"
        );

        let first = phone.fetch(&pass, None).await;
        assert_eq!(first.status, 200);
        assert_eq!(
            first.headers["content-type"],
            "application/vnd.apple.pkpass"
        );
        let modified = first.headers["last-modified"].to_str().unwrap().to_string();
        assert_eq!(balance(&first.bytes), 0);
        let again = phone.fetch(&pass, Some(&modified)).await;
        assert_eq!(again.status, 304);
        assert!(again.bytes.is_empty());

        // Two changes within the same second, with a list call between them.
        assert_eq!(
            app.adjust(&member, "t-1", json!({"points": 5, "reason": "a"}))
                .await
                .status,
            201
        );
        let (status, serials) = phone.updated(&url, &pass.pass_type).await;
        assert_eq!(
            (status, serials),
            (reqwest::StatusCode::OK, vec![pass.serial.clone()])
        );
        assert_eq!(
            app.adjust(&member, "t-2", json!({"points": 7, "reason": "b"}))
                .await
                .status,
            201
        );
        let (status, serials) = phone.updated(&url, &pass.pass_type).await;
        assert_eq!(
            (status, serials),
            (reqwest::StatusCode::OK, vec![pass.serial.clone()])
        );
        // The device still holds the first version: its If-Modified-Since must not hide the new one.
        let newer = phone.fetch(&pass, Some(&modified)).await;
        assert_eq!(newer.status, 200);
        assert_eq!(balance(&newer.bytes), 12);
        let newer_modified = newer.headers["last-modified"].to_str().unwrap().to_string();
        assert!(
            httpdate::parse_http_date(&newer_modified).unwrap()
                > httpdate::parse_http_date(&modified).unwrap()
        );
        assert_eq!(phone.fetch(&pass, Some(&newer_modified)).await.status, 304);
        assert_eq!(phone.updated(&url, &pass.pass_type).await.0, 204);

        // A program-wide change updates every pass on the device.
        let r = app
            .send(
                Method::PATCH,
                &format!("/api/v1/programs/{program}"),
                Some(&app.admin),
                Some(&json!({"name": "Test Beans Reloaded"})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let (status, serials) = phone.updated(&url, &pass.pass_type).await;
        assert_eq!(status, 200);
        assert_eq!(serials, both);
        assert_eq!(phone.fetch(&pass, Some(&newer_modified)).await.status, 200);

        // A tag this service did not issue is treated as none: everything is listed.
        phone.tag = Some("garbage".into());
        assert_eq!(phone.updated(&url, &pass.pass_type).await.1, both);

        assert_eq!(phone.unregister(&pass).await, 200);
        assert_eq!(phone.unregister(&pass).await, 200, "idempotent");
        phone.tag = None;
        assert_eq!(
            phone.updated(&url, &pass.pass_type).await.1,
            vec![other_pass.serial.clone()]
        );
    }
);

both_engines!(
    tokens_are_checked_and_unknown_passes_not_revealed,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let pass = install(&app, &member).await;
        let phone = Device::new("dev0001", &push_token(2));
        let mut wrong = pass.clone();
        wrong.auth = "X".repeat(pass.auth.len());
        assert_eq!(phone.register(&wrong).await, 401);
        assert_eq!(phone.fetch(&wrong, None).await.status, 401);
        assert_eq!(phone.unregister(&wrong).await, 401);
        let mut unknown = pass.clone();
        unknown.serial = "A".repeat(20);
        assert_eq!(
            phone.register(&unknown).await,
            401,
            "unknown serial looks like a bad token"
        );
        assert_eq!(phone.fetch(&unknown, None).await.status, 401);
        let mut other_type = pass.clone();
        other_type.pass_type = "pass.com.example.other".into();
        assert_eq!(phone.register(&other_type).await, 401);
        // No Authorization header at all.
        let r = app
            .send(
                Method::GET,
                &format!("/wallet/v1/passes/{}/{}", pass.pass_type, pass.serial),
                None,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 401);
        // Bad bodies are 400 and register nothing.
        for body in [
            json!({}),
            json!({"pushToken": "not hex"}),
            json!({"pushToken": 5}),
        ] {
            let r = app
                .send(
                    Method::POST,
                    &format!(
                        "/wallet/v1/devices/dev0001/registrations/{}/{}",
                        pass.pass_type, pass.serial
                    ),
                    None,
                    Some(&body),
                    &[("Authorization", &format!("ApplePass {}", pass.auth))],
                )
                .await;
            assert_eq!(r.status, 400, "{body}");
        }
        assert_eq!(app.count("apple_registrations").await, 0);
        assert_eq!(app.count("apple_devices").await, 0);
    }
);

both_engines!(
    trailing_slash_in_web_service_url_still_routes,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let mut pass = install(&app, &member).await;
        pass.web_service_url.push('/');
        let mut phone = Device::new("slashdevice", &push_token(3));
        assert_eq!(phone.register(&pass).await, 201);
        let (status, serials) = phone.updated(&pass.web_service_url, &pass.pass_type).await;
        assert_eq!(
            (status, serials),
            (reqwest::StatusCode::OK, vec![pass.serial.clone()])
        );
        assert_eq!(phone.fetch(&pass, None).await.status, 200);
        assert_eq!(phone.unregister(&pass).await, 200);
    }
);

both_engines!(
    device_logs_are_kept_for_operators,
    |app: TestApp| async move {
        let r = app
        .send(
            Method::POST,
            "/wallet/v1/log",
            None,
            Some(&json!({"logs": ["[2026-11-23] Web service error for pass.x: 401", "second line"]})),
            &[],
        )
        .await;
        assert_eq!(r.status, 200);
        let r = app
            .send(
                Method::POST,
                "/wallet/v1/log",
                None,
                Some(&json!({"nope": 1})),
                &[],
            )
            .await;
        assert_eq!(r.status, 400);
        let logs = app.get("/api/v1/device-logs", &app.admin).await;
        assert_eq!(logs.status, 200);
        let entries = logs.body["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["message"], "second line");
        assert!(entries[1]["message"].as_str().unwrap().contains("401"));
        let staff = app.create_key("staff", None).await;
        app.get("/api/v1/device-logs", &staff)
            .await
            .assert_refused(403, "forbidden", None);
        let metrics = app.metrics().await;
        assert!(metrics.contains("passwright_device_logs 2"), "{metrics}");
    }
);

#[tokio::test]
async fn each_device_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, dir.path()).await.unwrap();
    let mut settings = settings_for(dir.path(), &url);
    settings.passkit.device_burst = 3;
    settings.passkit.device_per_minute = 1;
    let app = spawn_with(settings, dir).await;
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    let pass = install(&app, &member).await;
    let mut greedy = Device::new("greedy", &push_token(4));
    for _ in 0..3 {
        assert_ne!(
            greedy
                .updated(&pass.web_service_url, &pass.pass_type)
                .await
                .0,
            429
        );
    }
    let url = format!(
        "{}/v1/devices/greedy/registrations/{}",
        pass.web_service_url, pass.pass_type
    );
    let r = reply(app.client.get(url).send().await.unwrap()).await;
    assert_eq!(r.status, 429);
    assert!(r.headers.contains_key("retry-after"));
    let mut polite = Device::new("polite", &push_token(5));
    assert_eq!(
        polite.register(&pass).await,
        201,
        "other devices are not affected"
    );
    assert_eq!(
        polite
            .updated(&pass.web_service_url, &pass.pass_type)
            .await
            .0,
        200
    );
}

both_engines!(other_methods_answer_a_bare_405, |app: TestApp| async move {
    // Outside the API no JSON error: an empty 405 naming the methods the path has, for
    // the web service as for the public routes; an unknown path under /wallet/v1 is 404.
    for (method, path, allow) in [
        (Method::GET, "/wallet/v1/log", "POST"),
        (
            Method::PUT,
            "/wallet/v1/devices/d1/registrations/pass.x/aaaaaaaaaaaaaaaaaaaa",
            "POST, DELETE",
        ),
        (Method::POST, "/healthz", "GET"),
        (Method::GET, "/google/callbacks", "POST"),
    ] {
        let r = app.send(method.clone(), path, None, None, &[]).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert!(r.bytes.is_empty(), "{method} {path}: {:?}", r.bytes);
        let allowed = r.headers.get("allow").and_then(|v| v.to_str().ok());
        assert_eq!(allowed, Some(allow), "{method} {path}");
    }
    let r = app
        .send(Method::GET, "/wallet/v1/nothing", None, None, &[])
        .await;
    assert_eq!((r.status.as_u16(), r.bytes.len()), (404, 0));
});
