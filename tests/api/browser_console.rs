//! The console in headless Chromium, as its people use it: an owner on a 390 px phone signs
//! in, finds People in the navigation, invites someone whose name carries `<script>` and
//! Arabic text (shown as typed, nothing runs), reads the audit log, and signs out; at no
//! step does a page scroll sideways. Then at desktop size with the keyboard alone.

use serde_json::{json, Value};

use crate::both_engines;
use crate::browser::test_name;
use crate::chromium::{Browser, Launch};
use crate::console::{add_user, PASSWORD};
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// Whether the page is wider than the window (something would scroll sideways).
async fn scrolls_sideways(b: &mut Browser) -> Value {
    b.eval("document.documentElement.scrollWidth > document.documentElement.clientWidth")
        .await
}

const NAME: &str = "<script>window.pwned = 1</script> مريم";

both_engines!(
    an_owner_runs_the_console_from_a_phone,
    |app: TestApp| async move {
        let test = &test_name(&app, "an_owner_runs_the_console_from_a_phone");
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let program = app.sample_program().await;
        let Some(mut b) = Browser::launch(test, Launch::default()).await else {
            return;
        };
        b.run(json!({"op": "viewport", "width": 390, "height": 844, "mobile": true}))
            .await;
        b.goto(&app.url("/")).await;
        assert_eq!(scrolls_sideways(&mut b).await, false, "/");
        b.screenshot("front").await;
        b.click("a.door[href='/console']").await;
        b.wait("#sign-in-form").await;
        assert_eq!(scrolls_sideways(&mut b).await, false, "sign-in");
        b.fill("#email", "owner@beans.example").await;
        b.fill("#password", "not it at all").await;
        b.click("#sign-in-form button[type=submit]").await;
        assert_eq!(
            b.wait("#sign-in-error").await,
            "That email address and password do not match."
        );
        // The address is kept; only the password is typed again.
        assert_eq!(
            b.eval("document.getElementById('email').value").await,
            "owner@beans.example"
        );
        b.fill("#password", PASSWORD).await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait_text("main h1", "Hello, owner").await;
        assert!(
            b.text("main").await.contains("Test Beans"),
            "the program is listed"
        );
        assert_eq!(scrolls_sideways(&mut b).await, false, "home");
        b.screenshot("home").await;

        b.click("nav a[href='/console/users']").await;
        b.wait("#invite").await;
        b.fill("#invite-email", "mariam@beans.example").await;
        b.fill("#invite-name", NAME).await;
        b.select("#invite-role", "marketer").await;
        b.select("#invite-program", &program).await;
        b.click("#invite button[type=submit]").await;
        assert_eq!(
            b.wait("main > p.message.ok").await,
            "Invitation sent. The link in it works for a week."
        );
        let row = "tr[data-email='mariam@beans.example']";
        assert_eq!(b.text(&format!("{row} th")).await, NAME);
        assert_eq!(b.text(&format!("{row} td[data-state]")).await, "Invited");
        assert_eq!(b.eval("window.pwned === undefined").await, true);
        assert_eq!(
            b.eval("document.querySelectorAll('main script').length")
                .await,
            0
        );
        assert_eq!(scrolls_sideways(&mut b).await, false, "people");
        b.screenshot("people").await;

        b.click("nav a[href='/console/audit']").await;
        b.wait("#audit").await;
        assert!(b.text("#audit").await.contains("user.add"));
        assert_eq!(scrolls_sideways(&mut b).await, false, "audit");
        b.screenshot("audit").await;

        b.click("nav a[href='/console/reports']").await;
        b.wait("#program[data-loaded]").await;
        assert_eq!(scrolls_sideways(&mut b).await, false, "reports");
        b.screenshot("reports").await;

        // A member found by phone, as a customer would say it, and their points adjusted.
        let ada = app
            .enroll(
                &program,
                json!({"name": "Ada Lovelace", "phone": "+49 151 12345678"}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        b.click("nav a[href='/console/members']").await;
        b.wait("#member-search").await;
        b.fill("#q", "0151 1234").await;
        b.click("#member-search button[type=submit]").await;
        // The page the search answers keeps what was typed.
        b.wait("#q[value='0151 1234']").await;
        b.wait(&format!("tr[data-member='{ada}']")).await;
        assert_eq!(scrolls_sideways(&mut b).await, false, "members");
        b.screenshot("members").await;
        b.click(&format!("tr[data-member='{ada}'] a")).await;
        b.wait("#adjust").await;
        b.fill("#points", "40").await;
        b.fill("#reason", "Coffee machine was broken").await;
        b.click("#adjust button[type=submit]").await;
        b.wait_text("[data-figure='balance'] dd", "40").await;
        assert_eq!(scrolls_sideways(&mut b).await, false, "member");
        b.screenshot("member").await;

        b.click("form.who button[type=submit]").await;
        b.wait_text("main > p.message.ok", "You are signed out.")
            .await;
        // Back is no way in: the console sends the visitor to sign in.
        b.goto(&app.url("/console/users")).await;
        b.wait("#sign-in-form").await;
        assert_eq!(b.eval("location.search").await, "?next=/console/users");

        // At a desk, with the keyboard alone: Tab to the fields, Enter to send.
        b.desktop().await;
        b.goto(&app.url("/console/sign-in?next=/console/users"))
            .await;
        // The email field has the focus when the page opens.
        b.wait("#email:focus").await;
        b.keys("owner@beans.example").await;
        b.press("Tab").await;
        assert_eq!(b.eval("document.activeElement.id").await, "password");
        b.keys(PASSWORD).await;
        b.press("Enter").await;
        b.wait("#invite").await;
        assert_eq!(b.eval("location.pathname").await, "/console/users");
        b.screenshot("people-desktop").await;
        let errors = b.errors().await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        b.close().await;
    }
);
