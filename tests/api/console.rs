//! The console's sign-in as a browser meets it, over plain HTTP: the session cookie and its
//! flags, the CSRF token on forms and on API calls made with the cookie, sign-out (the
//! cookie dies at once), the throttle, and forms posted from another site. The helpers here
//! are the other console tests' way in.

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use passwright::accounts::UserForm;
use passwright::domain::api_key::Role;
use passwright::domain::ids::ProgramId;
use passwright::domain::user::NewPassword;

pub const PASSWORD: &str = "correct horse battery";

/// A signed-in browser, as far as the server can tell: the cookie and the page's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// A client that does not follow redirects, so a test sees each 303.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Adds a console user who can sign in with `PASSWORD`.
pub async fn add_user(app: &TestApp, email: &str, role: Role, program: Option<&str>) {
    let form = UserForm {
        email,
        name: email.split('@').next().unwrap(),
        role,
        program: program.map(|p| ProgramId::parse(p).unwrap()),
    };
    app.state
        .accounts
        .add_user(
            &form,
            Some(&NewPassword::parse(PASSWORD).unwrap()),
            false,
            "test",
            "the tests",
        )
        .await
        .unwrap();
}

/// The value of the session cookie a response sets, if it sets one.
pub fn session_cookie(headers: &HeaderMap) -> Option<(String, String)> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let line = v.to_str().unwrap().to_string();
        let value = line
            .strip_prefix("pw_console=")?
            .split(';')
            .next()?
            .to_string();
        Some((value, line))
    })
}

/// `name="csrf-token" content="…"` of a console page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf-token\" content=\"")
        .unwrap_or_else(|| panic!("no CSRF token in the page: {html}"));
    let rest = &html[at + "name=\"csrf-token\" content=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Posts the sign-in form as the browser would (our Origin) and answers the response.
pub async fn post_sign_in(app: &TestApp, email: &str, password: &str) -> Reply {
    reply(
        browser()
            .post(app.url("/console/sign-in"))
            .header("Origin", &app.address)
            .form(&[
                ("email", email),
                ("password", password),
                ("next", "/console"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Signs in and reads the CSRF token off the console's home page.
pub async fn sign_in(app: &TestApp, email: &str) -> Session {
    let r = post_sign_in(app, email, PASSWORD).await;
    assert_eq!(r.status, 303, "{}", String::from_utf8_lossy(&r.bytes));
    let (cookie, _) = session_cookie(&r.headers).expect("a session cookie");
    let home = page(app, &cookie, "/console").await;
    assert_eq!(home.status, 200);
    let csrf = csrf_of(&String::from_utf8(home.bytes).unwrap());
    Session { cookie, csrf }
}

/// GET `path` with the session cookie.
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> Reply {
    reply(
        browser()
            .get(app.url(path))
            .header("Cookie", format!("pw_console={cookie}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Posts a console form with the session cookie (the form's fields as given).
pub async fn form(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
    reply(
        browser()
            .post(app.url(path))
            .header("Cookie", format!("pw_console={cookie}"))
            .header("Origin", &app.address)
            .form(fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// An API call with the session cookie, and the CSRF header when given.
pub async fn api(
    app: &TestApp,
    cookie: &str,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    body: Option<serde_json::Value>,
) -> Reply {
    let mut req = browser()
        .request(method, app.url(path))
        .header("Cookie", format!("pw_console={cookie}"));
    if let Some(t) = csrf {
        req = req.header("X-CSRF-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

pub fn text(r: &Reply) -> String {
    String::from_utf8(r.bytes.clone()).unwrap()
}

fn location(r: &Reply) -> &str {
    r.headers[LOCATION].to_str().unwrap()
}

both_engines!(
    signing_in_and_out_of_the_console,
    |app: TestApp| async move {
        // A fresh install says how to make the first owner.
        let first = reply(
            browser()
                .get(app.url("/console/sign-in"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(first.status, 200);
        assert!(text(&first).contains("passwright users add --role owner"));
        // Not signed in: to the sign-in page, and back afterwards.
        let away = page(&app, "nonsense", "/console/users").await;
        assert_eq!(away.status, 303);
        assert_eq!(location(&away), "/console/sign-in?next=/console/users");

        add_user(&app, "Ana@Beans.example", Role::Admin, None).await;
        let wrong = post_sign_in(&app, "ana@beans.example", "not the password").await;
        assert_eq!(wrong.status, 401);
        let html = text(&wrong);
        assert!(
            html.contains("That email address and password do not match."),
            "{html}"
        );
        assert!(
            html.contains("value=\"ana@beans.example\""),
            "the email is kept"
        );
        assert!(session_cookie(&wrong.headers).is_none());

        // The address in any case is the account.
        let ok = post_sign_in(&app, "ANA@beans.example", PASSWORD).await;
        assert_eq!(ok.status, 303);
        assert_eq!(location(&ok), "/console");
        let (cookie, line) = session_cookie(&ok.headers).unwrap();
        assert!(line.contains("HttpOnly"), "{line}");
        assert!(line.contains("SameSite=Lax"), "{line}");
        assert!(line.contains("Path=/"), "{line}");
        assert!(!line.contains("Secure"), "plain http here: {line}");
        assert!(cookie.len() >= 32, "{cookie}");
        let home = page(&app, &cookie, "/console").await;
        assert_eq!(home.status, 200);
        let html = text(&home);
        assert!(html.contains("Hello, <bdi>Ana"), "{html}");
        let csrf = csrf_of(&html);
        assert!(html.contains(&format!("name=\"csrf\" value=\"{csrf}\"")));
        // Already signed in: the sign-in page goes on.
        let again = page(&app, &cookie, "/console/sign-in?next=/console/audit").await;
        assert_eq!(
            (again.status.as_u16(), location(&again)),
            (303, "/console/audit")
        );

        // The API with the cookie: reads freely, changes only with the CSRF token.
        let list = api(&app, &cookie, Method::GET, "/api/v1/programs", None, None).await;
        assert_eq!(list.status, 200, "{:?}", list.body);
        let program = json!({"name": "Beans", "organization": "Beans Ltd"});
        let bare = api(
            &app,
            &cookie,
            Method::POST,
            "/api/v1/programs",
            None,
            Some(program.clone()),
        )
        .await;
        bare.assert_refused(403, "csrf_token_mismatch", None);
        let forged = api(
            &app,
            &cookie,
            Method::POST,
            "/api/v1/programs",
            Some("x"),
            Some(program.clone()),
        )
        .await;
        forged.assert_refused(403, "csrf_token_mismatch", None);
        let made = api(
            &app,
            &cookie,
            Method::POST,
            "/api/v1/programs",
            Some(&csrf),
            Some(program),
        )
        .await;
        assert_eq!(made.status, 201, "{:?}", made.body);
        // Only a key records scans, and names itself.
        let me = api(&app, &cookie, Method::GET, "/api/v1/me", None, None).await;
        me.assert_refused(403, "forbidden", None);

        // Sign-out needs the form's token; afterwards the same cookie is dead everywhere.
        let stale = form(&app, &cookie, "/console/sign-out", &[("csrf", "old")]).await;
        assert_eq!(stale.status, 403);
        assert!(text(&stale).contains("This form has expired"));
        assert_eq!(page(&app, &cookie, "/console").await.status, 200);
        let out = form(&app, &cookie, "/console/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, 303);
        assert_eq!(location(&out), "/console/sign-in?notice=signed_out");
        let (removed, line) = session_cookie(&out.headers).unwrap();
        assert!(removed.is_empty() && line.contains("Max-Age=0"), "{line}");
        let stolen = page(&app, &cookie, "/console").await;
        assert_eq!(stolen.status, 303, "a copied cookie is dead after sign-out");
        let stolen = api(&app, &cookie, Method::GET, "/api/v1/programs", None, None).await;
        stolen.assert_refused(401, "unauthorized", None);

        // Sign-out everywhere ends the other sessions of the account too.
        let phone = sign_in(&app, "ana@beans.example").await;
        let laptop = sign_in(&app, "ana@beans.example").await;
        let out = form(
            &app,
            &laptop.cookie,
            "/console/sign-out-everywhere",
            &[("csrf", &laptop.csrf)],
        )
        .await;
        assert_eq!(
            (out.status.as_u16(), location(&out)),
            (303, "/console/sign-in?notice=everywhere")
        );
        assert_eq!(page(&app, &phone.cookie, "/console").await.status, 303);
        assert_eq!(page(&app, &laptop.cookie, "/console").await.status, 303);
    }
);

both_engines!(the_sign_in_throttle_trips, |app: TestApp| async move {
    add_user(&app, "ana@beans.example", Role::Marketer, None).await;
    for _ in 0..5 {
        let r = post_sign_in(&app, "ana@beans.example", "guess guess guess").await;
        assert_eq!(r.status, 401);
    }
    // The right password is refused too, until the window has passed.
    let r = post_sign_in(&app, "ana@beans.example", PASSWORD).await;
    assert_eq!(r.status, 429);
    assert!(session_cookie(&r.headers).is_none());
    let html = text(&r);
    assert!(
        html.contains("Too many failed sign-ins. Try again in 15 minutes"),
        "{html}"
    );
    // Another account from the same address still works (20 per address).
    add_user(&app, "bo@beans.example", Role::Marketer, None).await;
    assert_eq!(
        post_sign_in(&app, "bo@beans.example", PASSWORD)
            .await
            .status,
        303
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_forms_from_another_site_are_refused() {
    let app = spawn_app(Engine::Sqlite, "sign_in_forms_from_another_site")
        .await
        .unwrap();
    add_user(&app, "ana@beans.example", Role::Admin, None).await;
    for path in ["/console/sign-in", "/console/forgot"] {
        let r = reply(
            browser()
                .post(app.url(path))
                .header("Origin", "https://evil.example")
                .form(&[("email", "ana@beans.example"), ("password", PASSWORD)])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 403, "{path}");
        assert!(text(&r).contains("sent from another website"), "{path}");
        assert!(session_cookie(&r.headers).is_none());
    }
    // A signed-in form from another site lacks the token (SameSite=Lax keeps the cookie
    // from it anyway): refused, nothing changed.
    let s = sign_in(&app, "ana@beans.example").await;
    let r = reply(
        browser()
            .post(app.url("/console/users"))
            .header("Cookie", format!("pw_console={}", s.cookie))
            .header("Origin", "https://evil.example")
            .form(&[("email", "eve@evil.example"), ("role", "owner")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(app.state.store.users(None).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let data_dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, data_dir.path()).await.unwrap();
    let mut settings = settings_for(data_dir.path(), &url);
    settings.server.public_base_url = "https://cards.beans.example".into();
    let app = spawn_with(settings, data_dir).await;
    add_user(&app, "ana@beans.example", Role::Admin, None).await;
    let r = reply(
        browser()
            .post(app.url("/console/sign-in"))
            .header("Origin", "https://cards.beans.example")
            .form(&[("email", "ana@beans.example"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 303);
    let (_, line) = session_cookie(&r.headers).unwrap();
    assert!(
        line.contains("Secure") && line.contains("HttpOnly"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_page_leads_to_the_console_the_scanner_and_the_docs() {
    let app = spawn_app(Engine::Sqlite, "the_front_page_leads")
        .await
        .unwrap();
    let r = reply(browser().get(app.url("/")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    let html = text(&r);
    for link in [
        "href=\"/console\"",
        "href=\"/staff\"",
        "href=\"/api/v1/openapi.json\"",
    ] {
        assert!(html.contains(link), "{link}: {html}");
    }
    let old = reply(browser().get(app.url("/admin")).send().await.unwrap()).await;
    assert_eq!(
        (old.status.as_u16(), location(&old)),
        (308, "/console/reports")
    );
}

/// `passwright users add` makes the first owner of a fresh install: the link it prints opens
/// in the running service, sets the password and signs them in. `reset-link` does the same
/// for a locked-out owner; a second `add` of the address is refused in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_owner_comes_from_the_command_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let url = database_url(Engine::Sqlite, data_dir.path()).await.unwrap();
    let dir = data_dir.path().to_path_buf();
    let app = spawn_with(settings_for(&dir, &url), data_dir).await;
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_passwright"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(child_env(&dir))
            .env("PASSWRIGHT__DATABASE__URL", &url)
            .env("PASSWRIGHT__LOG__LEVEL", "error")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let path_in = |text: &str, kind: &str| {
        let at = text
            .find(&format!("/console/{kind}/"))
            .unwrap_or_else(|| panic!("no {kind} link: {text}"));
        text[at..].split_whitespace().next().unwrap().to_string()
    };
    let (ok, added) = cli(&[
        "users",
        "add",
        "--role",
        "owner",
        "Boss@Beans.example",
        "--name",
        "Boss",
    ]);
    assert!(ok, "{added}");
    assert!(added.contains("added owner boss@beans.example"), "{added}");
    let invite = path_in(&added, "invite");
    let done = form(
        &app,
        "",
        &invite,
        &[
            ("name", "Boss"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    assert_eq!(done.status, 303, "{}", text(&done));
    assert!(session_cookie(&done.headers).is_some());
    let owner = sign_in(&app, "boss@beans.example").await;
    assert_eq!(
        page(&app, &owner.cookie, "/console/users").await.status,
        200,
        "an owner"
    );

    let (ok, again) = cli(&["users", "add", "--role", "owner", "boss@beans.example"]);
    assert!(!ok);
    assert!(
        again.contains("there is already a console user boss@beans.example"),
        "{again}"
    );
    let (ok, scoped) = cli(&[
        "users",
        "add",
        "--role",
        "owner",
        "two@beans.example",
        "--program",
        "prg_aaaaaaaaaaaaaaaa",
    ]);
    assert!(!ok);
    assert!(scoped.contains("An owner sees every program"), "{scoped}");

    let (ok, reset) = cli(&["users", "reset-link", "boss@beans.example"]);
    assert!(ok, "{reset}");
    let reset = path_in(&reset, "reset");
    let done = form(
        &app,
        "",
        &reset,
        &[
            ("password", "another long one"),
            ("confirm", "another long one"),
        ],
    )
    .await;
    assert_eq!(done.status, 303, "{}", text(&done));
    assert_eq!(
        page(&app, &owner.cookie, "/console").await.status,
        303,
        "other sessions ended"
    );
    assert_eq!(
        post_sign_in(&app, "boss@beans.example", "another long one")
            .await
            .status,
        303
    );

    let (ok, list) = cli(&["users", "list"]);
    assert!(ok, "{list}");
    assert!(
        list.contains("owner") && list.contains("active") && list.contains("boss@beans.example"),
        "{list}"
    );
}
