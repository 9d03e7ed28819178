//! The landing pages protect themselves and their visitors: the enrollment form is rate
//! limited per client address, and every page sends a strict Content-Security-Policy.

use reqwest::header::{CACHE_CONTROL, RETRY_AFTER};
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::landing::{enroll_link, page, post_form, text, DESKTOP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_forms_are_rate_limited_per_client_address() {
    let data_dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, data_dir.path()).await.unwrap();
    let mut settings = settings_for(data_dir.path(), &url);
    settings.landing.enroll_burst = 3;
    settings.landing.enroll_per_minute = 3;
    let app = spawn_with(settings, data_dir).await;
    let program = app.sample_program().await;
    let code = enroll_link(&app, &program, json!({})).await["code"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..3 {
        let r = post_form(
            &app,
            &code,
            &[("name", "Grace"), ("email", "nope")],
            DESKTOP,
        )
        .await;
        assert_eq!(r.status, 422, "form {i}");
    }
    let r = post_form(
        &app,
        &code,
        &[("name", "Grace"), ("email", "grace@example.com")],
        DESKTOP,
    )
    .await;
    assert_eq!(r.status, 429);
    assert!(
        r.headers[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(text(&r).contains("Too many attempts"));
    assert_eq!(app.count("members").await, 0);
    // Reading the page is not limited.
    let (status, _) = page(&app, &format!("/c/{code}"), DESKTOP).await;
    assert_eq!(status, 200);
}

both_engines!(
    landing_pages_send_a_strict_content_security_policy,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let code = enroll_link(&app, &program, json!({})).await["code"]
            .as_str()
            .unwrap()
            .to_string();
        let r = reply(
            app.client
                .get(app.url(&format!("/c/{code}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "no script at all");
        assert_eq!(r.headers["referrer-policy"], "same-origin");
        assert_eq!(r.headers[CACHE_CONTROL], "no-store");
        // The hash is the one of the page's only style element.
        let html = text(&r);
        let style = &html[html.find("<style>").unwrap() + 7..html.find("</style>").unwrap()];
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        assert!(!html.contains("style=\""), "no inline style attributes");
    }
);
