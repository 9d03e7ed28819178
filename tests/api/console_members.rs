//! Members in the console: found by phone (as a cashier would say it, nationally) or by name
//! in any case, opened, their points adjusted with a reason; the pass Wallet fetches from the
//! PassKit web service then shows the new balance. A double tap adjusts once; a change below
//! zero or without a reason is refused in words, with what was typed kept. Staff read but do
//! not change; a program-scoped account finds nobody of another program.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::console::*;
use crate::device::{install, pass_json};
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// The card form (`/console/members/{id}/card`) sent by `who`, with the box ticked.
async fn change_card(app: &TestApp, who: &Session, card: &str, action: &str) -> Reply {
    let fields = [
        ("csrf", who.csrf.as_str()),
        ("action", action),
        ("confirm", "yes"),
    ];
    form(app, &who.cookie, card, &fields).await
}

fn balance_field(pass: &serde_json::Value) -> serde_json::Value {
    pass["storeCard"]["headerFields"]
        .as_array()
        .into_iter()
        .chain(pass["storeCard"]["primaryFields"].as_array())
        .flatten()
        .find(|f| f["key"] == "points")
        .map(|f| f["value"].clone())
        .unwrap_or_else(|| panic!("no points field: {pass}"))
}

both_engines!(
    members_are_found_and_their_points_adjusted,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let ada = app
        .enroll(&program, json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+49 151 12345678"}))
        .await
        .body["id"].as_str().unwrap().to_string();
        let grace = app.member(&program, "Grace Hopper").await;
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;

        let list = |q: &str| format!("/console/members?program={program}&q={q}");
        let everyone = text(
            &page(
                &app,
                &owner.cookie,
                &format!("/console/members?program={program}"),
            )
            .await,
        );
        assert!(
            everyone.contains(&ada) && everyone.contains(&grace),
            "{everyone}"
        );
        // Sorted as chosen, the choice kept in the form.
        for (sort, first, second) in [("name", &ada, &grace), ("newest", &grace, &ada)] {
            let html = text(
                &page(
                    &app,
                    &owner.cookie,
                    &format!("/console/members?program={program}&sort={sort}"),
                )
                .await,
            );
            assert!(
                html.find(first.as_str()) < html.find(second.as_str()),
                "{sort}: {html}"
            );
            assert!(
                html.contains(&format!("<option value=\"{sort}\" selected>")),
                "{html}"
            );
        }
        let by_phone = text(&page(&app, &owner.cookie, &list("0151%2012345")).await);
        assert!(
            by_phone.contains(&ada) && !by_phone.contains(&grace),
            "{by_phone}"
        );
        let by_name = text(&page(&app, &owner.cookie, &list("HOPP")).await);
        assert!(
            by_name.contains(&grace) && !by_name.contains(&ada),
            "{by_name}"
        );
        let nobody = text(&page(&app, &owner.cookie, &list("zzz")).await);
        assert!(nobody.contains("Nobody matches"), "{nobody}");

        let path = format!("/console/members/{ada}");
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(
            html.contains("ada@example.com") && html.contains("+4915112345678"),
            "{html}"
        );
        let nonce = html
            .split("name=\"nonce\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let pass = install(&app, &ada).await;

        // Refused in words, what was typed kept.
        let points = format!("{path}/points");
        let no_reason = form(
            &app,
            &owner.cookie,
            &points,
            &[
                ("csrf", &owner.csrf),
                ("nonce", &nonce),
                ("direction", "add"),
                ("points", "50"),
                ("reason", ""),
            ],
        )
        .await;
        assert_eq!(no_reason.status, 422);
        let html = text(&no_reason);
        assert!(
            html.contains("Say why") && html.contains("value=\"50\""),
            "{html}"
        );
        let below = form(
            &app,
            &owner.cookie,
            &points,
            &[
                ("csrf", &owner.csrf),
                ("nonce", "n-below"),
                ("direction", "remove"),
                ("points", "10"),
                ("reason", "oops"),
            ],
        )
        .await;
        assert_eq!(below.status, 409);
        assert!(text(&below).contains("below zero: it is 0"));

        // Added, once, though the form was sent twice.
        for _ in 0..2 {
            let done = form(
                &app,
                &owner.cookie,
                &points,
                &[
                    ("csrf", &owner.csrf),
                    ("nonce", &nonce),
                    ("direction", "add"),
                    ("points", "50"),
                    ("reason", "Welcome gift"),
                ],
            )
            .await;
            assert_eq!(done.status, 303, "{}", text(&done));
        }
        let html = text(&page(&app, &owner.cookie, &format!("{path}?notice=adjusted")).await);
        assert!(html.contains("Points adjusted"), "{html}");
        assert!(
            html.contains("<div data-figure=\"balance\"><dt>Points</dt><dd>50</dd>"),
            "{html}"
        );
        assert!(html.contains("Welcome gift"));
        let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
        assert_eq!(member.body["balance"], 50);
        let ledger = app
            .get(&format!("/api/v1/members/{ada}/ledger"), &app.admin)
            .await;
        let actors: Vec<_> = ledger.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["actor"].clone())
            .collect();
        assert_eq!(actors.len(), 1, "{actors:?}");
        assert!(
            actors[0].as_str().unwrap().starts_with("user:usr_"),
            "{actors:?}"
        );
        // What Wallet fetches says so too.
        let r = app
            .send(
                Method::GET,
                &format!("/wallet/v1/passes/{}/{}", pass.pass_type, pass.serial),
                None,
                None,
                &[("Authorization", &format!("ApplePass {}", pass.auth))],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(balance_field(&pass_json(&r.bytes)), json!(50));
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(
            audit.contains("data-action=\"member.points_adjusted\""),
            "{audit}"
        );

        // Everything held on the member, as one file; staff cannot take it.
        let export = page(&app, &owner.cookie, &format!("{path}/export")).await;
        assert_eq!(export.status, 200);
        assert!(export.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let data: serde_json::Value = serde_json::from_slice(&export.bytes).unwrap();
        assert_eq!(data["member"]["email"], "ada@example.com");
        assert_eq!(data["card"]["balance"], 50);
        assert_eq!(data["points"][0]["reason"], "Welcome gift");
        assert!(
            data["consent_history"].is_array() && data["scans"].is_array(),
            "{data}"
        );
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(html.contains("id=\"consent-title\"") && html.contains("id=\"messages-title\""));

        // Filters: by balance (a typo is said, not obeyed) and by where the card is.
        let filtered = |f: &str| format!("/console/members?program={program}&{f}");
        let rich = text(&page(&app, &owner.cookie, &filtered("points_min=40")).await);
        assert!(rich.contains(&ada) && !rich.contains(&grace), "{rich}");
        let typo = text(&page(&app, &owner.cookie, &filtered("points_min=forty")).await);
        assert!(
            typo.contains("Points are whole numbers") && typo.contains(&grace),
            "{typo}"
        );
        let google = text(&page(&app, &owner.cookie, &filtered("google=yes")).await);
        assert!(
            !google.contains(&ada) && google.contains("Nobody matches"),
            "{google}"
        );

        // Staff read, and cannot change.
        add_user(&app, "till@beans.example", Role::Staff, Some(&program)).await;
        let till = sign_in(&app, "till@beans.example").await;
        let html = text(&page(&app, &till.cookie, &path).await);
        assert!(!html.contains("id=\"adjust\""), "no form for staff");
        assert_eq!(
            page(&app, &till.cookie, &format!("{path}/export"))
                .await
                .status,
            403
        );
        let r = form(
            &app,
            &till.cookie,
            &points,
            &[
                ("csrf", &till.csrf),
                ("nonce", "n-staff"),
                ("direction", "add"),
                ("points", "5"),
                ("reason", "x"),
            ],
        )
        .await;
        assert_eq!(r.status, 403);

        // Limited to another program: nobody of this one.
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
        add_user(&app, "mo@other.example", Role::Marketer, Some(&other)).await;
        let mo = sign_in(&app, "mo@other.example").await;
        assert_eq!(page(&app, &mo.cookie, &path).await.status, 404);
        assert_eq!(
            page(
                &app,
                &mo.cookie,
                &format!("/console/members?program={program}")
            )
            .await
            .status,
            403
        );
        let own = text(&page(&app, &mo.cookie, "/console/members").await);
        assert!(
            !own.contains(&ada) && own.contains("No members yet"),
            "{own}"
        );
        let r = form(
            &app,
            &mo.cookie,
            &points,
            &[
                ("csrf", &mo.csrf),
                ("nonce", "n-mo"),
                ("direction", "add"),
                ("points", "5"),
                ("reason", "x"),
            ],
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(
            app.get(&format!("/api/v1/members/{ada}"), &app.admin)
                .await
                .body["balance"],
            50
        );

        // Where the card is, and re-issuing it (after a confirmation) or cancelling it.
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(html.contains("data-wallet=\"apple\">Not added"), "{html}");
        assert!(html.contains("data-wallet=\"google\">Not added"), "{html}");
        let card = format!("{path}/card");
        let url = format!("/api/v1/members/{ada}");
        let before = app.get(&url, &app.admin).await.body["pass_url"].clone();
        let unconfirmed = form(
            &app,
            &owner.cookie,
            &card,
            &[("csrf", &owner.csrf), ("action", "reissue")],
        )
        .await;
        assert_eq!(unconfirmed.status, 422);
        assert!(text(&unconfirmed).contains("Tick the box to confirm first"));
        assert_eq!(app.get(&url, &app.admin).await.body["pass_url"], before);
        assert_eq!(
            change_card(&app, &owner, &card, "reissue").await.status,
            303
        );
        assert_ne!(
            app.get(&url, &app.admin).await.body["pass_url"],
            before,
            "a new download link"
        );
        assert_eq!(
            change_card(&app, &till, &card, "void").await.status,
            403,
            "staff"
        );
        assert_eq!(change_card(&app, &owner, &card, "void").await.status, 303);
        let again = change_card(&app, &owner, &card, "reissue").await;
        assert_eq!(again.status, 409);
        assert!(text(&again).contains("cancelled already"));
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(
            html.contains("<dt>Status</dt><dd>Cancelled</dd>") && !html.contains("id=\"adjust\""),
            "{html}"
        );
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(audit.contains("data-action=\"member.card_reissued\""));
        assert!(audit.contains("data-action=\"member.card_voided\""));
    }
);

both_engines!(
    a_member_who_asks_to_be_forgotten_is_erased,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let ada = app
            .enroll(&program, json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+49 151 12345678", "external_id": "crm-9", "consent": {"email": true}}))
            .await
            .body["id"].as_str().unwrap().to_string();
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let card = format!("/console/members/{ada}/card");
        let r = change_card(&app, &owner, &card, "erase").await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let member = app
            .get(&format!("/api/v1/members/{ada}"), &app.admin)
            .await
            .body;
        assert_eq!(
            (
                &member["name"],
                &member["email"],
                &member["phone"],
                &member["external_id"],
                &member["status"]
            ),
            (
                &json!("Erased member"),
                &json!(null),
                &json!(null),
                &json!(null),
                &json!("voided")
            )
        );
        assert_eq!(member["consent"], json!({"email": false, "sms": false}));
        let page_now = text(
            &page(
                &app,
                &owner.cookie,
                &format!("/console/members/{ada}?notice=erased"),
            )
            .await,
        );
        assert!(
            page_now.contains("Erased: the name, email, phone and member number are gone"),
            "{page_now}"
        );
        let found = text(
            &page(
                &app,
                &owner.cookie,
                &format!("/console/members?program={program}&q=ada%40example.com"),
            )
            .await,
        );
        assert!(!found.contains(&ada), "nobody is found by the old email");
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(audit.contains("Erased a member"));
        assert!(
            !audit.contains("ada@example.com") && !audit.contains("Lovelace"),
            "the log keeps nothing of it"
        );
        // Erasing again changes nothing.
        let r = change_card(&app, &owner, &card, "erase").await;
        assert_eq!(r.status, 303);
        let again = app
            .get(&format!("/api/v1/members/{ada}"), &app.admin)
            .await
            .body;
        assert_eq!(again["version"], member["version"]);
    }
);
