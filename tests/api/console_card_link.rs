//! The card link sent again from a member's page, by email or SMS: it arrives (the
//! development folders stand in for the relay and the provider) carrying the member's card
//! link, once though the form was sent twice. It is the member's own card, a service
//! message: it goes to a member who agreed to no offers at all, and is listed as service. A
//! channel without an address is disabled on the page and refused in words if sent anyway,
//! with nothing queued.

use serde_json::json;

use crate::both_engines;
use crate::console::*;
use crate::helpers::*;
use passwright::domain::api_key::Role;

fn nonce_of(html: &str) -> String {
    let form = &html[html.find("id=\"card-link\"").expect("the card link form")..];
    form.split("name=\"nonce\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

both_engines!(
    the_card_link_is_sent_again_by_email_or_sms,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let r = app
            .enroll(
                &program,
                json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+49 151 12345678",
                       "consent": {"email": false, "sms": false}}),
            )
            .await;
        let ada = r.body["id"].as_str().unwrap().to_string();
        let r = app
            .enroll(
                &program,
                json!({"name": "Bo Berg", "email": "bo@example.com",
                       "consent": {"email": true, "sms": false}}),
            )
            .await;
        let bo = r.body["id"].as_str().unwrap().to_string();
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let path = format!("/console/members/{ada}");
        let send = format!("{path}/card-link");

        // Ada agreed to no offers; her own card goes anyway, by either channel.
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(
            html.contains("<input type=\"radio\" name=\"channel\" value=\"email\" checked>"),
            "{html}"
        );
        assert!(
            html.contains("<input type=\"radio\" name=\"channel\" value=\"sms\">"),
            "{html}"
        );
        let nonce = nonce_of(&html);

        // By email, sent twice (a double tap): one message, delivered, with the card link.
        for _ in 0..2 {
            let done = form(
                &app,
                &owner.cookie,
                &send,
                &[
                    ("csrf", &owner.csrf),
                    ("nonce", &nonce),
                    ("channel", "email"),
                ],
            )
            .await;
            assert_eq!(done.status, 303, "{}", text(&done));
        }
        // And by SMS.
        let done = form(
            &app,
            &owner.cookie,
            &send,
            &[("csrf", &owner.csrf), ("nonce", &nonce), ("channel", "sms")],
        )
        .await;
        assert_eq!(done.status, 303, "{}", text(&done));
        app.state.outbox.drain().await.unwrap();
        let listed = app
            .get(&format!("/api/v1/members/{ada}/messages"), &app.admin)
            .await;
        let messages = listed.body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{messages:?}");
        for m in messages {
            assert_eq!(m["template"], "card_invite");
            assert_eq!(m["purpose"], "service", "{m}");
            assert_eq!(m["status"], "delivered", "{m}");
        }
        let email = messages.iter().find(|m| m["channel"] == "email").unwrap();
        let id = email["id"].as_i64().unwrap();
        let mail =
            std::fs::read_to_string(app.data_dir.path().join("mail").join(format!("{id}.eml")))
                .unwrap();
        assert!(
            mail.contains("To: \"Ada Lovelace\" <ada@example.com>"),
            "{mail}"
        );
        assert!(mail.contains(&format!("{}/c/", app.address)), "{mail}");
        let sms = messages.iter().find(|m| m["channel"] == "sms").unwrap();
        let id = sms["id"].as_i64().unwrap();
        let texted =
            std::fs::read_to_string(app.data_dir.path().join("sms").join(format!("{id}.txt")))
                .unwrap();
        assert!(texted.contains("+4915112345678"), "{texted}");
        assert!(texted.contains(&format!("{}/c/", app.address)), "{texted}");
        let html = text(&page(&app, &owner.cookie, &format!("{path}?notice=link_email")).await);
        assert!(html.contains("on its way by email"), "{html}");
        assert!(
            html.contains(
                "card_invite <span class=\"hint\">(service: their own card)</span> · delivered"
            ),
            "{html}"
        );
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(
            audit.contains("data-action=\"member.card_link_sent\""),
            "{audit}"
        );

        // Bo has no phone: SMS is disabled, and refused in words if sent anyway.
        let bo_path = format!("/console/members/{bo}");
        let html = text(&page(&app, &owner.cookie, &bo_path).await);
        assert!(
            html.contains("<input type=\"radio\" name=\"channel\" value=\"sms\" disabled>"),
            "{html}"
        );
        assert!(
            html.contains("There is no phone number for this member."),
            "{html}"
        );
        let refused = form(
            &app,
            &owner.cookie,
            &format!("{bo_path}/card-link"),
            &[
                ("csrf", &owner.csrf),
                ("nonce", &nonce_of(&html)),
                ("channel", "sms"),
            ],
        )
        .await;
        assert_eq!(refused.status, 409);
        assert!(text(&refused).contains("There is no phone number for this member."));
        let listed = app
            .get(&format!("/api/v1/members/{bo}/messages"), &app.admin)
            .await;
        assert_eq!(listed.body["messages"].as_array().unwrap().len(), 0);
    }
);
