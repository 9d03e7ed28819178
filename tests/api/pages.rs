//! The pages as served (the scanner, the front page, the console's): HTML with a
//! Content-Security-Policy that allows only our own scripts and styles, no inline script or
//! style anywhere, a label on every control, and the assets they load.

use crate::console::{add_user, sign_in};
use crate::helpers::*;
use passwright::domain::api_key::Role;

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send().await.unwrap()).await
}

/// `src` of every `<script>` and `href` of every stylesheet a page loads.
fn loaded(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (tag, attr) in [("<script", "src=\""), ("<link", "href=\"")] {
        for piece in html.split(tag).skip(1) {
            let open = &piece[..piece.find('>').unwrap()];
            let start = open.find(attr).map(|i| i + attr.len());
            let Some(start) = start else {
                panic!("{tag}{open}> loads nothing from a file: inline code is not allowed");
            };
            out.push(open[start..start + open[start..].find('"').unwrap()].to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_allow_only_their_own_scripts_and_serve_every_asset_they_load() {
    let app = spawn_app(Engine::Sqlite, "pages_allow_only_their_own_scripts")
        .await
        .unwrap();
    add_user(&app, "owner@beans.example", Role::Admin, None).await;
    let owner = sign_in(&app, "owner@beans.example").await;
    let cookie = format!("pw_console={}", owner.cookie);
    // The page, how many form controls it has at least, and whether it is for the signed-in.
    let pages = [
        ("/staff", 3, false),
        ("/", 0, false),
        ("/console/sign-in", 2, false),
        ("/console/forgot", 1, false),
        ("/console", 0, true),
        ("/console/reports", 6, true),
        ("/console/users", 4, true),
        ("/console/audit", 0, true),
        ("/console/members", 0, true),
    ];
    for (path, least, signed_in) in pages {
        let headers: &[(&str, &str)] = if signed_in {
            &[("Cookie", &cookie)]
        } else {
            &[]
        };
        let r = get(&app, path, headers).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("style-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        let html = String::from_utf8(r.bytes).unwrap();
        assert!(
            html.contains("<meta name=\"viewport\""),
            "{path} is made for phones"
        );
        // Nothing inline: no script bodies, no handlers, no style attributes or elements.
        assert!(!html.contains("<style"), "{path}");
        assert!(!html.contains(" style="), "{path}");
        for handler in ["onclick", "onload", "onsubmit", "onerror", "onchange"] {
            assert!(!html.contains(handler), "{path} has an inline {handler}");
        }
        for script in html.split("<script").skip(1) {
            assert!(
                script.contains("src=\"/assets/") && script.contains("></script>"),
                "{path}: an inline script"
            );
        }
        // Every form control has a label.
        let mut controls = 0;
        for tag in ["<input", "<select"] {
            for piece in html.split(tag).skip(1) {
                let open = &piece[..piece.find('>').unwrap()];
                // Hidden fields (a form's token) are not controls a person uses.
                if open.contains("type=\"hidden\"") || open.ends_with(" hidden") {
                    continue;
                }
                let id = open
                    .split("id=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                assert!(
                    html.contains(&format!("<label for=\"{id}\"")),
                    "{path}: #{id} has no label"
                );
                controls += 1;
            }
        }
        assert!(controls >= least, "{path}: {controls} controls");
        let assets = loaded(&html);
        assert!(!assets.is_empty(), "{path}: {assets:?}");
        for asset in assets {
            assert!(
                asset.starts_with("/assets/"),
                "{path} loads {asset} from elsewhere"
            );
            let r = get(&app, &asset, &[]).await;
            assert_eq!(r.status, 200, "{asset}");
            let expected = if asset.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "text/javascript; charset=utf-8"
            };
            assert_eq!(r.headers["content-type"], expected, "{asset}");
            assert!(r.bytes.len() > 500, "{asset}");
        }
    }
    let staff = String::from_utf8(get(&app, "/staff", &[]).await.bytes).unwrap();
    assert!(staff.contains("/assets/jsQR.js"), "the QR fallback decoder");
    assert!(staff.contains("aria-live"), "results are announced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_revalidate_with_etags_and_unknown_ones_are_404() {
    let app = spawn_app(Engine::Sqlite, "assets_revalidate")
        .await
        .unwrap();
    let r = get(&app, "/assets/staff.js", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["cache-control"], "no-cache");
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let again = get(&app, "/assets/staff.js", &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());
    assert_eq!(again.headers["etag"], etag.as_str());
    let other = get(&app, "/assets/reports.js", &[("If-None-Match", &etag)]).await;
    assert_eq!(other.status, 200, "another file's tag does not match");
    assert_ne!(other.headers["etag"], etag.as_str());
    for missing in [
        "/assets/nope.js",
        "/assets/..%2Fstaff.html",
        "/assets/LICENSE-jsQR",
    ] {
        let r = get(&app, missing, &[]).await;
        assert_eq!(r.status, 404, "{missing}");
    }
}
