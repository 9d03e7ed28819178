//! Shared helpers of the landing-page tests (landing_*.rs, and attribution.rs,
//! landing_browser.rs and openapi_webhooks_links.rs): the phones' user agents, links and campaigns made
//! through the API, pages fetched as a phone would, the wallet buttons and link events a page
//! left, the enrollment form posted, and an app with Google Wallet configured.

use passwright::domain::distribution::LinkCode;
use reqwest::header::USER_AGENT;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
pub const ANDROID: &str = "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36";
pub const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

/// A campaign of `program` through the campaigns API (print and web campaigns carry links
/// only; email and SMS ones send `card_invite`).
pub async fn campaign(app: &TestApp, program: &str, channel: &str) -> String {
    let mut body = json!({"name": "Spring posters", "channel": channel});
    if matches!(channel, "email" | "sms") {
        body["template"] = json!("card_invite");
    }
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/campaigns"),
            &app.admin,
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// Creates an enrollment link; its JSON.
pub async fn enroll_link(app: &TestApp, program: &str, body: Value) -> Value {
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/links"),
            &app.admin,
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

/// A member's personal card link; its code.
pub async fn card_link(app: &TestApp, member: &str) -> String {
    let r = app
        .post(
            &format!("/api/v1/members/{member}/links"),
            &app.admin,
            json!({}),
        )
        .await;
    assert!(r.status == 201 || r.status == 200, "{:?}", r.body);
    r.body["code"].as_str().unwrap().to_string()
}

/// A page fetched as `ua` would.
pub async fn page(app: &TestApp, path: &str, ua: &str) -> (StatusCode, String) {
    let r = app
        .client
        .get(app.url(path))
        .header(USER_AGENT, ua)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// The ids of the wallet buttons, in the order the page lists them.
pub fn buttons(html: &str) -> Vec<String> {
    let Some(start) = html.find("id=\"wallet-buttons\"") else {
        return Vec::new();
    };
    let list = &html[start
        ..html[start..]
            .find("</ul>")
            .map_or(html.len(), |e| start + e)];
    list.match_indices("class=\"wallet-button\" id=\"")
        .map(|(i, m)| {
            let rest = &list[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// (action, platform, member) of each event of the link, oldest first.
pub async fn events(app: &TestApp, code: &str) -> Vec<(String, String, Option<String>)> {
    app.state
        .store
        .link_events(&LinkCode::parse(code).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.platform, e.member_id.map(|m| m.to_string())))
        .collect()
}

/// Posts the enrollment form as a browser on our own page would (with our Origin).
pub async fn post_form(app: &TestApp, code: &str, form: &[(&str, &str)], ua: &str) -> Reply {
    // Not followed: the test looks at where the answer sends the visitor.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(app.url(&format!("/c/{code}")))
        .header(USER_AGENT, ua)
        .header("Origin", app.address.as_str())
        .form(form)
        .send()
        .await
        .unwrap();
    reply(r).await
}

/// The body of a reply as text.
pub fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

/// An app with Google Wallet configured (links carry the whole card; no API calls).
pub async fn google_app(
    engine: Engine,
    test: &str,
) -> Option<(TestApp, crate::fake_google::TestServiceAccount)> {
    let fake = crate::fake_google::FakeGoogle::start().await;
    let account = fake.service_account();
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    settings.google.issuer_id = "3388000000012345678".into();
    settings.google.service_account_file = Some(account.path.clone());
    settings.google.api_url = String::new();
    Some((spawn_with(settings, data_dir).await, account))
}
