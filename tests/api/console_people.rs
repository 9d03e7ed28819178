//! People in the console: an owner invites someone (the email arrives over SMTP with a
//! one-time link), the invited person chooses a password and is signed in, a forgotten
//! password is reset by email (every other session ends), an owner switches someone off
//! (their session dies), and all of it is in the audit log, readable and exportable by owners
//! only. And the roles: a marketer reaches no owner page, staff no reports, a program-scoped
//! user sees no other program's members (HTML or JSON).

use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::both_engines;
use crate::console::*;
use crate::fake_smtp::{FakeSmtp, SmtpMessage};
use crate::helpers::*;
use passwright::domain::api_key::Role;
use passwright::settings::{EmailMode, SmtpTls};

/// The one-time link (path) in an email's text.
fn link_in(mail: &SmtpMessage, kind: &str) -> String {
    let body = mail.decoded();
    let at = body
        .find(&format!("/console/{kind}/"))
        .unwrap_or_else(|| panic!("no {kind} link in {body}"));
    body[at..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_string()
}

async fn mails(app: &TestApp, smtp: &FakeSmtp, n: usize) -> Vec<SmtpMessage> {
    app.state.outbox.drain().await.unwrap();
    let mails = smtp.messages();
    assert_eq!(
        mails.len(),
        n,
        "{:?}",
        mails
            .iter()
            .map(|m| m.header("Subject"))
            .collect::<Vec<_>>()
    );
    mails
}

async fn people(engine: Engine, test: &str) {
    let smtp = FakeSmtp::start("mailer", "s3cret pass").await;
    let port = smtp.port();
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return;
    };
    let mut settings = settings_for(data_dir.path(), &url);
    settings.email.mode = EmailMode::Smtp;
    settings.email.host = "127.0.0.1".into();
    settings.email.port = port;
    settings.email.tls = SmtpTls::None;
    settings.email.username = Some("mailer".into());
    settings.email.password = Some(SecretString::from("s3cret pass".to_string()));
    settings.email.from_address = "console@beans.example".into();
    let app = spawn_with(settings, data_dir).await;
    let program = app.sample_program().await;

    add_user(&app, "owner@beans.example", Role::Admin, None).await;
    let owner = sign_in(&app, "owner@beans.example").await;
    let page_html = text(&page(&app, &owner.cookie, "/console/users").await);
    assert!(page_html.contains("owner@beans.example"), "{page_html}");

    // A refused invitation keeps what was typed and says why.
    let bad = form(
        &app,
        &owner.cookie,
        "/console/users",
        &[
            ("csrf", &owner.csrf),
            ("email", "not an address"),
            ("name", "Mo <b>"),
            ("role", "marketer"),
            ("program", ""),
        ],
    )
    .await;
    assert_eq!(bad.status, 422);
    let html = text(&bad);
    assert!(
        html.contains("Enter the person&#x27;s email address"),
        "{html}"
    );
    assert!(
        html.contains("value=\"Mo &lt;b&gt;\""),
        "kept and escaped: {html}"
    );
    let owner_of_one = form(
        &app,
        &owner.cookie,
        "/console/users",
        &[
            ("csrf", &owner.csrf),
            ("email", "mo@beans.example"),
            ("name", ""),
            ("role", "owner"),
            ("program", &program),
        ],
    )
    .await;
    assert_eq!(owner_of_one.status, 422);
    assert!(text(&owner_of_one).contains("An owner sees every program"));

    // The invitation: emailed, opened, accepted.
    let sent = form(
        &app,
        &owner.cookie,
        "/console/users",
        &[
            ("csrf", &owner.csrf),
            ("email", "Mo@Beans.example"),
            ("name", "Mo"),
            ("role", "marketer"),
            ("program", &program),
        ],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", text(&sent));
    let again = form(
        &app,
        &owner.cookie,
        "/console/users",
        &[
            ("csrf", &owner.csrf),
            ("email", "mo@beans.example"),
            ("name", "Mo"),
            ("role", "marketer"),
            ("program", ""),
        ],
    )
    .await;
    assert_eq!(again.status, 409);
    assert!(text(&again).contains("There is already an account for that address."));
    let mail = &mails(&app, &smtp, 1).await[0];
    assert_eq!(mail.rcpt_to, ["mo@beans.example"]);
    let invite = link_in(mail, "invite");
    let opened = page(&app, "", &invite).await;
    assert_eq!(opened.status, 200);
    assert!(text(&opened).contains("mo@beans.example"));
    let short = form(
        &app,
        "",
        &invite,
        &[("name", "Mo"), ("password", "short"), ("confirm", "short")],
    )
    .await;
    assert_eq!(short.status, 422);
    assert!(text(&short).contains("at least 10 characters"));
    let differ = form(
        &app,
        "",
        &invite,
        &[
            ("name", "Mo"),
            ("password", PASSWORD),
            ("confirm", "something else"),
        ],
    )
    .await;
    assert_eq!(differ.status, 422);
    assert!(text(&differ).contains("The two passwords are different."));
    let accepted = form(
        &app,
        "",
        &invite,
        &[
            ("name", "Mo Marketer"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    assert_eq!(accepted.status, 303, "{}", text(&accepted));
    let (mo_cookie, _) = session_cookie(&accepted.headers).expect("signed in");
    let home = text(&page(&app, &mo_cookie, "/console?notice=welcome").await);
    assert!(
        home.contains("Hello, <bdi>Mo Marketer</bdi>") && home.contains("Welcome!"),
        "{home}"
    );
    assert_eq!(
        page(&app, "", &invite).await.status,
        410,
        "a used invitation is dead"
    );

    // A marketer reaches no owner page, and cannot post owner forms even with their token.
    let mo = sign_in(&app, "mo@beans.example").await;
    for path in ["/console/users", "/console/audit", "/console/audit.csv"] {
        let r = page(&app, &mo.cookie, path).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(text(&r).contains("Only an owner"), "{path}");
    }
    let r = form(
        &app,
        &mo.cookie,
        "/console/users",
        &[
            ("csrf", &mo.csrf),
            ("email", "eve@beans.example"),
            ("role", "owner"),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(page(&app, &mo.cookie, "/console/reports").await.status, 200);
    assert!(!text(&page(&app, &mo.cookie, "/console").await).contains("href=\"/console/users\""));

    // Limited to one program: another program's members are out of reach, in JSON and HTML.
    let other = app
        .create_program(
            &app.admin,
            json!({"name": "Other", "organization": "Other Ltd"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api(
        &app,
        &mo.cookie,
        Method::GET,
        &format!("/api/v1/programs/{other}/members"),
        None,
        None,
    )
    .await;
    r.assert_refused(403, "forbidden", None);
    let listed = api(
        &app,
        &mo.cookie,
        Method::GET,
        "/api/v1/programs",
        None,
        None,
    )
    .await;
    let ids: Vec<_> = listed.body["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, [json!(program)]);
    let home = text(&page(&app, &mo.cookie, "/console").await);
    assert!(home.contains(&program) && !home.contains(&other), "{home}");
    let r = api(
        &app,
        &mo.cookie,
        Method::GET,
        &format!("/api/v1/programs/{program}/members"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200);

    // Staff have no reports.
    add_user(&app, "till@beans.example", Role::Staff, Some(&program)).await;
    let till = sign_in(&app, "till@beans.example").await;
    assert_eq!(
        page(&app, &till.cookie, "/console/reports").await.status,
        403
    );

    // Forgotten password: the answer is the same for unknown addresses; the link resets it
    // and ends the other sessions.
    for email in ["mo@beans.example", "nobody@beans.example"] {
        let r = reply(
            browser()
                .post(app.url("/console/forgot"))
                .header("Origin", &app.address)
                .form(&[("email", email)])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(text(&r).contains("If there is an account for"), "{email}");
    }
    let all = mails(&app, &smtp, 2).await;
    assert_eq!(all[1].rcpt_to, ["mo@beans.example"]);
    let reset = link_in(&all[1], "reset");
    let done = form(
        &app,
        "",
        &reset,
        &[
            ("password", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    assert_eq!(done.status, 303, "{}", text(&done));
    assert_eq!(
        page(&app, &mo.cookie, "/console").await.status,
        303,
        "other sessions ended"
    );
    assert_eq!(page(&app, &mo_cookie, "/console").await.status, 303);
    assert_eq!(
        post_sign_in(&app, "mo@beans.example", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        post_sign_in(&app, "mo@beans.example", "a brand new password")
            .await
            .status,
        303
    );

    // Switched off: the session in hand dies, sign-in says why, nobody switches themselves off.
    let mo = post_sign_in(&app, "mo@beans.example", "a brand new password").await;
    let (mo_cookie, _) = session_cookie(&mo.headers).unwrap();
    let html = text(&page(&app, &owner.cookie, "/console/users").await);
    let id = html
        .split("data-email=\"mo@beans.example\"")
        .next()
        .unwrap()
        .rsplit("data-user=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(id.starts_with("usr_"), "{id}");
    let off = form(
        &app,
        &owner.cookie,
        &format!("/console/users/{id}/disable"),
        &[("csrf", &owner.csrf)],
    )
    .await;
    assert_eq!(off.status, 303);
    assert_eq!(page(&app, &mo_cookie, "/console").await.status, 303);
    let refused = post_sign_in(&app, "mo@beans.example", "a brand new password").await;
    assert_eq!(refused.status, 403);
    assert!(text(&refused).contains("switched off"));
    let html = text(&page(&app, &owner.cookie, "/console/users").await);
    let me = html
        .split("data-email=\"owner@beans.example\"")
        .next()
        .unwrap()
        .rsplit("data-user=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let myself = form(
        &app,
        &owner.cookie,
        &format!("/console/users/{me}/disable"),
        &[("csrf", &owner.csrf)],
    )
    .await;
    assert_eq!(myself.status, 403);
    let on = form(
        &app,
        &owner.cookie,
        &format!("/console/users/{id}/enable"),
        &[("csrf", &owner.csrf)],
    )
    .await;
    assert_eq!(on.status, 303);
    assert_eq!(
        post_sign_in(&app, "mo@beans.example", "a brand new password")
            .await
            .status,
        303
    );

    // The audit log: who did what, newest first, and the CSV of all of it.
    let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
    for action in [
        "session.sign_in",
        "user.add",
        "user.invitation_accepted",
        "user.password_reset",
        "user.disable",
        "user.enable",
    ] {
        assert!(
            audit.contains(&format!("data-action=\"{action}\"")),
            "{action}"
        );
    }
    assert!(
        audit.contains("owner &lt;owner@beans.example&gt;"),
        "actors by name: {audit}"
    );
    let csv = page(&app, &owner.cookie, "/console/audit.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let csv = text(&csv);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,at,actor,actor_name,action,program_id,subject,before,after"
    );
    let disable = csv
        .lines()
        .find(|l| l.contains(",user.disable,"))
        .expect("the disable is exported");
    assert!(
        disable.contains("\"\"disabled\"\":false") && disable.contains("\"\"disabled\"\":true"),
        "{disable}"
    );
}

both_engines!(owners_manage_people_and_roles_hold, run = people);
