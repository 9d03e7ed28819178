//! The accounts' story on each engine: an owner added with a password signs in; wrong
//! passwords trip the throttle for the account (the right one too, until the window passes);
//! an invited user's link is mailed as a job holding no secret, works once, and signs them in;
//! a reset ends every other session; a disabled user's session is dead.

use std::sync::Arc;

use time::Duration;

use super::links::LinkKey;
use super::mail::Mail;
use super::{Accounts, SignInError, UserForm};
use crate::clock::{Clock as _, ManualClock, OsRandom};
use crate::domain::api_key::Role;
use crate::domain::job::Job;
use crate::domain::user::{LinkPurpose, NewPassword};
use crate::settings::ConsoleSettings;
use crate::storage::{test_postgres, AuditEntry, Store};

async fn story(store: &Store) {
    let clock = Arc::new(ManualClock::at(crate::clock::system_now()));
    let accounts = Accounts {
        store: store.clone(),
        clock: clock.clone(),
        random: Arc::new(OsRandom),
        settings: ConsoleSettings::default(),
        links: LinkKey::new(b"a console link key for the tests"),
    };
    let password = NewPassword::parse("a long enough password").unwrap();
    let owner_form = UserForm {
        email: "Owner@Shop.Example",
        name: "Ana Owner",
        role: Role::Admin,
        program: None,
    };
    let (owner, link) = accounts
        .add_user(
            &owner_form,
            Some(&password),
            false,
            "cli",
            "the command line",
        )
        .await
        .unwrap();
    assert!(link.is_none() && owner.is_owner());
    assert_eq!(owner.email, "owner@shop.example");

    // The address in any case, the right password: a session.
    let signed = accounts
        .sign_in("OWNER@shop.example", "a long enough password", "10.0.0.1")
        .await
        .unwrap();
    let (session, user) = accounts
        .session(signed.token.expose())
        .await
        .unwrap()
        .expect("the new session is live");
    assert_eq!(user.id, owner.id);
    assert_eq!(session.csrf_token, signed.session.csrf_token);
    assert!(accounts.session("not a token").await.unwrap().is_none());

    // Five wrong passwords from anywhere throttle the account, even for the right one.
    for i in 0..5 {
        let e = accounts
            .sign_in(
                "owner@shop.example",
                "wrong password!",
                &format!("10.0.1.{i}"),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, SignInError::Mismatch), "{e}");
    }
    let e = accounts
        .sign_in("owner@shop.example", "a long enough password", "10.0.0.1")
        .await
        .unwrap_err();
    let SignInError::Throttled { minutes } = e else {
        panic!("throttled, not {e}")
    };
    assert_eq!(minutes, 15);
    clock.advance(Duration::minutes(16));
    accounts
        .sign_in("owner@shop.example", "a long enough password", "10.0.0.1")
        .await
        .expect("the throttle lifts as the failures age out");

    // An invitation: the job names the link only, the email carries it, it works once.
    let staff_form = UserForm {
        email: "till@shop.example",
        name: "",
        role: Role::Staff,
        program: None,
    };
    let (staff, token) = accounts
        .add_user(&staff_form, None, true, &owner.actor(), &owner.name)
        .await
        .unwrap();
    assert!(token.is_some() && !staff.has_password && staff.name == "till");
    let jobs = store.jobs_in_state("pending", 100).await.unwrap();
    let link_id = jobs
        .iter()
        .find_map(|j| match Job::from_json(&j.payload) {
            Ok(Job::ConsoleEmail { link_id }) => Some(link_id),
            _ => None,
        })
        .expect("an email job for the invitation");
    let Mail::Send(email) = accounts
        .link_email(&link_id, "https://cards.example", "shop.example")
        .await
        .unwrap()
    else {
        panic!("the invitation is sent")
    };
    assert!(
        email.subject.contains("Ana Owner invited you"),
        "{}",
        email.subject
    );
    let sent = accounts.links.token(&link_id, LinkPurpose::Invite);
    assert!(email
        .text
        .contains(&format!("https://cards.example/console/invite/{sent}")));
    assert!(
        !jobs.iter().any(|j| j.payload.contains(&sent)),
        "the job holds no secret"
    );
    assert!(accounts
        .sign_in("till@shop.example", "", "10.0.0.2")
        .await
        .is_err());
    let first = accounts
        .use_link(
            &sent,
            LinkPurpose::Invite,
            "my own password",
            Some("Till Staff"),
        )
        .await
        .unwrap();
    assert_eq!(first.user.name, "Till Staff");
    assert!(
        accounts
            .use_link(&sent, LinkPurpose::Invite, "another password", None)
            .await
            .is_err(),
        "a link works once"
    );
    assert!(matches!(
        accounts
            .link_email(&link_id, "https://x", "x")
            .await
            .unwrap(),
        Mail::Moot
    ));

    // A reset signs the user out everywhere else.
    accounts.request_reset("TILL@shop.example").await.unwrap();
    accounts.request_reset("nobody@shop.example").await.unwrap();
    let resets: Vec<String> = store
        .jobs_in_state("pending", 100)
        .await
        .unwrap()
        .iter()
        .filter_map(|j| match Job::from_json(&j.payload) {
            Ok(Job::ConsoleEmail { link_id }) if link_id != link_id_of(&sent) => Some(link_id),
            _ => None,
        })
        .collect();
    assert_eq!(resets.len(), 1, "one reset for the one account");
    let reset = accounts.links.token(&resets[0], LinkPurpose::Reset);
    let after = accounts
        .use_link(&reset, LinkPurpose::Reset, "a brand new password", None)
        .await
        .unwrap();
    assert!(accounts
        .session(first.token.expose())
        .await
        .unwrap()
        .is_none());
    assert!(accounts
        .session(after.token.expose())
        .await
        .unwrap()
        .is_some());

    // Switched off: the session is dead and sign-in says why.
    let audit = AuditEntry {
        actor: &owner.actor(),
        action: "user.disable",
        program_id: None,
        subject: None,
        before: None,
        after: None,
    };
    store
        .set_user_disabled(&staff.id, true, &audit, clock.now())
        .await
        .unwrap();
    assert!(accounts
        .session(after.token.expose())
        .await
        .unwrap()
        .is_none());
    let e = accounts
        .sign_in("till@shop.example", "a brand new password", "10.0.0.2")
        .await
        .unwrap_err();
    assert!(matches!(e, SignInError::Disabled), "{e}");
    let log = store.audit_log(None, 50).await.unwrap();
    assert!(log.iter().any(|e| e.action == "user.invitation_accepted"));
    assert!(log.iter().any(|e| e.action == "user.password_reset"));
}

fn link_id_of(token: &str) -> String {
    token.split('.').next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn accounts_on_sqlite() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("accounts.db").display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    story(&store).await;
    store.close().await;
}

#[tokio::test]
async fn accounts_on_postgres() {
    sqlx::any::install_default_drivers();
    let Some((admin, url)) = test_postgres::database("accounts::story").await else {
        return;
    };
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    story(&store).await;
    test_postgres::remove(store, &admin, &url).await;
}
