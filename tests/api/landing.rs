//! Links and the landing pages over HTTP: the links API (roles, program scope, campaigns),
//! QR images that decode to the link, the wallet buttons in the order each phone wants them,
//! enrollment from the form (and refused forms writing nothing), the rate limit, revoked and
//! cancelled links, and the link events recorded for attribution.

use passwright::domain::distribution::LinkCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::passes::unzip;

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

fn text(r: &Reply) -> String {
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

both_engines!(
    links_api_manages_enrollment_and_card_links,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let spring = campaign(&app, &program, "print").await;
        let link = enroll_link(
            &app,
            &program,
            json!({"campaign_id": spring, "channel": "print", "label": "Window poster"}),
        )
        .await;
        let code = link["code"].as_str().unwrap();
        assert_eq!(code.len(), 8);
        assert_eq!(link["kind"], "enroll");
        assert_eq!(link["url"], format!("{}/c/{code}", app.address));
        assert_eq!(link["qr_png"], format!("{}/c/{code}/qr.png", app.address));
        assert_eq!(link["qr_svg"], format!("{}/c/{code}/qr.svg", app.address));
        assert_eq!(
            (&link["campaign_id"], &link["channel"], &link["label"]),
            (&json!(spring), &json!("print"), &json!("Window poster"))
        );
        assert_eq!(link["revoked_at"], Value::Null);
        let plain = enroll_link(&app, &program, json!({})).await;
        assert_eq!(plain["campaign_id"], Value::Null);

        // A campaign of another program, an unknown one, a made-up channel: refused, not stored.
        let other = app.sample_program().await;
        let theirs = campaign(&app, &other, "email").await;
        let links_before = app.count("links").await;
        for body in [
            json!({"campaign_id": theirs}),
            json!({"campaign_id": "cmp_aaaaaaaaaaaaaaaa"}),
            json!({"campaign_id": "spring"}),
            json!({"channel": "fax"}),
            json!({"label": ""}),
        ] {
            let r = app
                .post(
                    &format!("/api/v1/programs/{program}/links"),
                    &app.admin,
                    body.clone(),
                )
                .await;
            assert_eq!(r.status, 422, "{body}: {:?}", r.body);
            assert_eq!(r.code(), "validation_failed", "{body}");
        }
        let r = app
            .post(
                &format!("/api/v1/programs/{program}/links"),
                &app.admin,
                json!({"kind": "card"}),
            )
            .await;
        assert_eq!(r.code(), "invalid_body");
        assert_eq!(app.count("links").await, links_before);

        // A member's card link: made once per campaign and channel, then the same one.
        let member = app.member(&program, "Ada").await;
        let path = format!("/api/v1/members/{member}/links");
        let body = json!({"campaign_id": spring, "channel": "email"});
        let first = app.post(&path, &app.admin, body.clone()).await;
        assert_eq!(first.status, 201, "{:?}", first.body);
        assert_eq!(first.body["kind"], "card");
        assert_eq!(first.body["member_id"], json!(member));
        assert_eq!(first.body["code"].as_str().unwrap().len(), 24);
        let again = app.post(&path, &app.admin, body).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body["code"], first.body["code"]);
        let other_channel = app.post(&path, &app.admin, json!({"channel": "sms"})).await;
        assert_eq!(other_channel.status, 201);
        assert_ne!(other_channel.body["code"], first.body["code"]);
        let r = app
            .post(&path, &app.admin, json!({"campaign_id": theirs}))
            .await;
        assert_eq!(r.code(), "validation_failed");

        // Lists: the program's, a member's, a campaign's.
        let list = |q: String| {
            let app = &app;
            let program = program.clone();
            async move {
                let r = app
                    .get(&format!("/api/v1/programs/{program}/links{q}"), &app.admin)
                    .await;
                assert_eq!(r.status, 200, "{:?}", r.body);
                r.body["links"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["code"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list(String::new()).await.len(), 4);
        assert_eq!(list(format!("?member_id={member}")).await.len(), 2);
        let of_campaign = list(format!("?campaign_id={spring}")).await;
        assert_eq!(of_campaign.len(), 2);
        assert!(of_campaign.contains(&code.to_string()));
        let r = app
            .get(
                &format!("/api/v1/programs/{program}/links?member_id=x"),
                &app.admin,
            )
            .await;
        r.assert_refused(422, "validation_failed", Some("member_id"));

        // Read, revoke (twice is fine), and the page is gone.
        let one = format!("/api/v1/links/{code}");
        let r = app.get(&one, &app.admin).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, link);
        let r = app
            .send(Method::DELETE, &one, Some(&app.admin), None, &[])
            .await;
        assert_eq!(r.status, 204);
        let r = app
            .send(Method::DELETE, &one, Some(&app.admin), None, &[])
            .await;
        assert_eq!(r.status, 204);
        let r = app.get(&one, &app.admin).await;
        assert!(r.body["revoked_at"].is_string(), "{:?}", r.body);
        let (status, html) = page(&app, &format!("/c/{code}"), IPHONE).await;
        assert_eq!(status, 410);
        assert!(html.contains("This link is no longer valid"), "{html}");
        let r = app.get("/api/v1/links/zzzzzzzz", &app.admin).await;
        r.assert_refused(404, "not_found", None);
        let r = app.get("/api/v1/links/NOT-A-CODE", &app.admin).await;
        r.assert_refused(404, "not_found", None);
    }
);

both_engines!(
    links_api_checks_roles_and_program_scope,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let link = enroll_link(&app, &program, json!({})).await;
        let code = link["code"].as_str().unwrap();
        let staff = app.create_key("staff", Some(&program)).await;
        let elsewhere = app.create_key("marketer", Some(&other)).await;
        let marketer = app.create_key("marketer", Some(&program)).await;
        let calls = [
            (
                Method::POST,
                format!("/api/v1/programs/{program}/links"),
                Some(json!({})),
            ),
            (
                Method::GET,
                format!("/api/v1/programs/{program}/links"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/members/{member}/links"),
                Some(json!({})),
            ),
            (Method::GET, format!("/api/v1/links/{code}"), None),
            (Method::DELETE, format!("/api/v1/links/{code}"), None),
        ];
        for (method, path, body) in &calls {
            for key in [&staff, &elsewhere] {
                let r = app
                    .send(method.clone(), path, Some(key), body.as_ref(), &[])
                    .await;
                assert_eq!(r.status, 403, "{method} {path}: {:?}", r.body);
                assert_eq!(r.code(), "forbidden");
            }
            let r = app
                .send(method.clone(), path, None, body.as_ref(), &[])
                .await;
            assert_eq!(r.status, 401, "{method} {path}");
        }
        assert_eq!(app.count("links").await, 1, "refused calls made no link");
        for (method, path, body) in &calls {
            let r = app
                .send(method.clone(), path, Some(&marketer), body.as_ref(), &[])
                .await;
            assert!(r.status.is_success(), "{method} {path}: {:?}", r.body);
        }
    }
);

both_engines!(
    card_page_orders_the_wallet_buttons_for_the_platform,
    run = wallet_buttons
);

async fn wallet_buttons(engine: Engine, test: &str) {
    let Some((app, _account)) = google_app(engine, test).await else {
        return;
    };
    let program = app.sample_program().await;
    let r = app
        .enroll(
            &program,
            json!({"name": "Ada <b>Lovelace</b>", "email": "ada@example.com"}),
        )
        .await;
    let member = r.body["id"].as_str().unwrap().to_string();
    app.earn(&member, &app.admin, "seed", json!({"amount": 120}))
        .await;
    let code = card_link(&app, &member).await;
    let path = format!("/c/{code}");

    let (status, iphone) = page(&app, &path, IPHONE).await;
    assert_eq!(status, 200);
    assert_eq!(buttons(&iphone), ["apple-wallet", "google-wallet"]);
    assert!(iphone.contains(">Add to Apple Wallet<") && iphone.contains(">Save to Google Wallet<"));
    assert!(
        !iphone.contains("id=\"handoff\""),
        "no QR hand-off on a phone"
    );
    // The member's name is text, not markup; the page's summary shows points and tier.
    assert!(
        iphone.contains("Ada &lt;b&gt;Lovelace&lt;&#x2f;b&gt;")
            || iphone.contains("Ada &lt;b&gt;Lovelace&lt;/b&gt;"),
        "{iphone}"
    );
    assert!(
        iphone.contains("<dd id=\"member-points\">120</dd>"),
        "{iphone}"
    );
    assert!(
        iphone.contains("<dd id=\"member-tier\">Silver</dd>"),
        "{iphone}"
    );
    assert!(iphone.contains("<html lang=\"en\">"));

    let (_, android) = page(&app, &path, ANDROID).await;
    assert_eq!(buttons(&android), ["google-wallet", "apple-wallet"]);
    assert!(!android.contains("id=\"handoff\""));

    let (_, desktop) = page(&app, &path, DESKTOP).await;
    assert_eq!(buttons(&desktop), ["apple-wallet", "google-wallet"]);
    let qr = &desktop[desktop
        .find("id=\"handoff-qr\"")
        .expect("a QR hand-off on a desktop")..];
    assert!(
        qr.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{qr}"
    );

    // Each visit is a click, with the platform it came from.
    let clicks: Vec<_> = events(&app, &code).await;
    assert_eq!(
        clicks,
        [
            (
                "clicked".to_string(),
                "ios".to_string(),
                Some(member.clone())
            ),
            (
                "clicked".to_string(),
                "android".to_string(),
                Some(member.clone())
            ),
            (
                "clicked".to_string(),
                "desktop".to_string(),
                Some(member.clone())
            ),
        ]
    );

    // The Google button hands over to Google's save page and is recorded.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(app.url(&format!("/c/{code}/google")))
        .header(USER_AGENT, ANDROID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap();
    assert!(to.starts_with("https://pay.google.com/gp/v/save/"), "{to}");
    let last = events(&app, &code).await.pop().unwrap();
    assert_eq!(
        last,
        (
            "google_save".to_string(),
            "android".to_string(),
            Some(member)
        )
    );
}

both_engines!(
    without_google_the_page_offers_apple_and_says_so,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let code = card_link(&app, &member).await;
        for ua in [IPHONE, ANDROID, DESKTOP] {
            let (status, html) = page(&app, &format!("/c/{code}"), ua).await;
            assert_eq!(status, 200);
            assert_eq!(buttons(&html), ["apple-wallet"]);
            assert!(html.contains("id=\"google-note\""), "{html}");
        }
        let (status, html) = page(&app, &format!("/c/{code}/google"), ANDROID).await;
        assert_eq!(status, 404);
        assert!(html.contains("Google Wallet is not available"));
    }
);

/// The text a QR code in a PNG carries.
fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

both_engines!(
    qr_images_carry_the_link_and_can_be_cached,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let link = enroll_link(&app, &program, json!({"channel": "print"})).await;
        let code = link["code"].as_str().unwrap();
        let url = link["url"].as_str().unwrap();

        let r = reply(
            app.client
                .get(link["qr_png"].as_str().unwrap())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers[CONTENT_TYPE], "image/png");
        assert_eq!(r.headers[CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(decode_png(&r.bytes), url);

        let r = reply(
            app.client
                .get(app.url(&format!("/c/{code}/qr.png?size=1000")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let info = png::Decoder::new(std::io::Cursor::new(&r.bytes))
            .read_info()
            .unwrap()
            .info()
            .width;
        assert!((900..=1000).contains(&info), "{info}");
        assert_eq!(decode_png(&r.bytes), url);

        let r = reply(
            app.client
                .get(link["qr_svg"].as_str().unwrap())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers[CONTENT_TYPE], "image/svg+xml");
        let svg = roxmltree::Document::parse(std::str::from_utf8(&r.bytes).unwrap()).unwrap();
        assert_eq!(svg.root_element().attribute("width"), Some("512"));

        for bad in ["?size=10", "?size=99999", "?size=big"] {
            let r = reply(
                app.client
                    .get(app.url(&format!("/c/{code}/qr.png{bad}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, 400, "{bad}");
        }
        // A personal link's code is nobody else's: its picture is not for shared caches.
        let member = app.member(&program, "Ada").await;
        let card = card_link(&app, &member).await;
        let r = reply(
            app.client
                .get(app.url(&format!("/c/{card}/qr.svg")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.headers[CACHE_CONTROL], "private, max-age=3600");

        let r = reply(
            app.client
                .get(app.url("/c/zzzzzzzz/qr.png"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 404);
        app.send(
            Method::DELETE,
            &format!("/api/v1/links/{code}"),
            Some(&app.admin),
            None,
            &[],
        )
        .await;
        let r = reply(
            app.client
                .get(app.url(&format!("/c/{code}/qr.png")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 410);
    }
);

both_engines!(
    enrolling_on_the_landing_page_creates_the_member_and_opens_their_card,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let spring = campaign(&app, &program, "print").await;
        let link = enroll_link(
            &app,
            &program,
            json!({"campaign_id": spring, "channel": "print"}),
        )
        .await;
        let code = link["code"].as_str().unwrap();

        let (status, form) = page(&app, &format!("/c/{code}"), IPHONE).await;
        assert_eq!(status, 200);
        assert!(
            form.contains("<form method=\"post\" action=\"/c/"),
            "{form}"
        );
        assert!(form.contains("<label for=\"email\">"));
        assert!(!form.contains(" checked"), "consent boxes start unticked");

        let r = post_form(
            &app,
            code,
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@example.com"),
                ("phone", ""),
                ("consent_email", "yes"),
            ],
            IPHONE,
        )
        .await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let location = r.headers[LOCATION].to_str().unwrap().to_string();
        let card = location.strip_prefix("/c/").unwrap().to_string();
        assert_eq!(card.len(), 24, "the member's own card link");

        // The member, their consent as given on the landing page, their card link.
        let r = app
            .get(&format!("/api/v1/programs/{program}/members"), &app.admin)
            .await;
        let members = r.body["members"].as_array().unwrap();
        assert_eq!(members.len(), 1);
        let m = &members[0];
        assert_eq!(
            (&m["name"], &m["email"]),
            (&json!("Grace Hopper"), &json!("grace@example.com"))
        );
        assert_eq!(m["consent"], json!({"email": true, "sms": false}));
        let id = m["id"].as_str().unwrap().to_string();
        let history = app
            .state
            .store
            .consent_history(&passwright::domain::ids::MemberId::parse(&id).unwrap())
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (
                history[0].channel.as_str(),
                history[0].granted,
                history[0].source.as_str()
            ),
            ("email", true, "landing_page")
        );
        let r = app.get(&format!("/api/v1/links/{card}"), &app.admin).await;
        assert_eq!(r.body["member_id"], json!(id));
        assert_eq!(
            (&r.body["campaign_id"], &r.body["channel"]),
            (&json!(spring), &json!("print"))
        );

        assert_eq!(
            events(&app, code).await,
            [
                ("clicked".to_string(), "ios".to_string(), None),
                ("enrolled".to_string(), "ios".to_string(), Some(id.clone())),
            ]
        );

        // The card page the visitor lands on offers the pass; downloading it is recorded.
        let (status, html) = page(&app, &location, IPHONE).await;
        assert_eq!(status, 200);
        assert!(html.contains("Grace Hopper"));
        assert_eq!(buttons(&html), ["apple-wallet"]);
        let r = reply(
            app.client
                .get(app.url(&format!("/c/{card}/apple.pkpass")))
                .header(USER_AGENT, IPHONE)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers[CONTENT_TYPE], "application/vnd.apple.pkpass");
        let pass: Value = serde_json::from_slice(&unzip(&r.bytes)["pass.json"]).unwrap();
        let serial = app
            .get(&format!("/api/v1/members/{id}"), &app.admin)
            .await
            .body["serial_number"]
            .clone();
        assert_eq!(pass["serialNumber"], serial);
        assert_eq!(
            events(&app, &card).await,
            [
                ("clicked".to_string(), "ios".to_string(), Some(id.clone())),
                (
                    "apple_download".to_string(),
                    "ios".to_string(),
                    Some(id.clone())
                ),
            ]
        );
    }
);

both_engines!(
    a_form_with_problems_comes_back_filled_in_and_writes_nothing,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let link = enroll_link(&app, &program, json!({})).await;
        let code = link["code"].as_str().unwrap();
        let before = (
            app.count("members").await,
            app.count("consent_events").await,
            app.count("link_events").await,
            app.count("links").await,
        );

        let r = post_form(
            &app,
            code,
            &[
                ("name", ""),
                ("email", "grace@example"),
                ("phone", "07700 900123"),
                ("consent_sms", "yes"),
            ],
            ANDROID,
        )
        .await;
        assert_eq!(r.status, 422);
        let html = text(&r);
        assert!(html.contains("Enter your name."), "{html}");
        assert!(html.contains("Enter a valid e-mail address, like name@example.com."));
        assert!(html.contains("Enter the phone number with its country code"));
        assert!(
            html.contains("value=\"grace@example\""),
            "the input is kept"
        );
        assert!(html.contains("value=\"07700 900123\""));
        assert!(
            html.contains(
                "id=\"consent_sms\" name=\"consent_sms\" type=\"checkbox\" value=\"yes\" checked"
            ),
            "{html}"
        );
        assert!(html.contains("id=\"error-summary\" role=\"alert\""));
        assert!(html.contains("<a href=\"#email\">"));
        assert!(html.contains("aria-invalid=\"true\""));

        let r = post_form(
            &app,
            code,
            &[("name", "Grace"), ("email", ""), ("phone", "")],
            ANDROID,
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(text(&r).contains("Enter an e-mail address or a phone number"));
        assert!(text(&r).contains("value=\"Grace\""));

        // Typed markup stays text.
        let r = post_form(
            &app,
            code,
            &[("name", "<script>x</script>"), ("email", "x")],
            ANDROID,
        )
        .await;
        assert!(!text(&r).contains("<script>x"), "{}", text(&r));

        // Posted from another site: refused.
        let r = reply(
            app.client
                .post(app.url(&format!("/c/{code}")))
                .header("Origin", "https://evil.example")
                .form(&[("name", "Grace"), ("email", "grace@example.com")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 403);
        assert!(text(&r).contains("sent from another website"));

        let after = (
            app.count("members").await,
            app.count("consent_events").await,
            app.count("link_events").await,
            app.count("links").await,
        );
        assert_eq!(before, after, "nothing was written");
    }
);

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
    unknown_revoked_and_cancelled_links_say_so,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        for path in [
            "/c/zzzzzzzz",
            "/c/not-a-code",
            "/c/zzzzzzzzzzzzzzzzzzzzzzzz/apple.pkpass",
        ] {
            let (status, html) = page(&app, path, IPHONE).await;
            assert_eq!(status, 404, "{path}");
            assert!(html.contains("Page not found"), "{path}");
        }
        let member = app.member(&program, "Ada").await;
        let code = card_link(&app, &member).await;
        let r = app
            .post(
                &format!("/api/v1/members/{member}/void"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200);
        for path in [format!("/c/{code}"), format!("/c/{code}/apple.pkpass")] {
            let (status, html) = page(&app, &path, IPHONE).await;
            assert_eq!(status, 410, "{path}");
            assert!(html.contains("This card was cancelled"), "{path}: {html}");
        }
        let r = app
            .post(
                &format!("/api/v1/members/{member}/links"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.code(), "member_voided");

        let live = app.member(&program, "Grace").await;
        let code = card_link(&app, &live).await;
        app.send(
            Method::DELETE,
            &format!("/api/v1/links/{code}"),
            Some(&app.admin),
            None,
            &[],
        )
        .await;
        for path in [format!("/c/{code}"), format!("/c/{code}/apple.pkpass")] {
            let (status, html) = page(&app, &path, IPHONE).await;
            assert_eq!(status, 410, "{path}");
            assert!(html.contains("This link is no longer valid"), "{path}");
        }
        // A card link takes no enrollment form.
        let r = post_form(
            &app,
            &card_link(&app, &live).await,
            &[("name", "X"), ("email", "x@example.com")],
            IPHONE,
        )
        .await;
        assert_eq!(r.status, 404);
    }
);

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
