//! The card link sent again from a member's page, by email or SMS: it arrives (the
//! development folders stand in for the relay and the provider) carrying the member's card
//! link, once though the form was sent twice; a channel the member cannot receive is
//! disabled on the page and refused in words if sent anyway, with nothing queued.

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
                       "consent": {"email": true, "sms": false}}),
            )
            .await;
        let ada = r.body["id"].as_str().unwrap().to_string();
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let path = format!("/console/members/{ada}");
        let send = format!("{path}/card-link");

        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(
            html.contains("<input type=\"radio\" name=\"channel\" value=\"sms\" disabled>"),
            "{html}"
        );
        assert!(html.contains("has not agreed to SMS"), "{html}");
        let nonce = nonce_of(&html);

        // SMS anyway (an old page): refused in words, nothing queued.
        let sms = form(
            &app,
            &owner.cookie,
            &send,
            &[("csrf", &owner.csrf), ("nonce", &nonce), ("channel", "sms")],
        )
        .await;
        assert_eq!(sms.status, 409);
        assert!(text(&sms).contains("has not agreed to SMS"));
        let listed = app
            .get(&format!("/api/v1/members/{ada}/messages"), &app.admin)
            .await;
        assert_eq!(listed.body["messages"].as_array().unwrap().len(), 0);

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
        app.state.outbox.drain().await.unwrap();
        let listed = app
            .get(&format!("/api/v1/members/{ada}/messages"), &app.admin)
            .await;
        let messages = listed.body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0]["template"], "card_invite");
        assert_eq!(messages[0]["status"], "delivered", "{messages:?}");
        let id = messages[0]["id"].as_i64().unwrap();
        let mail =
            std::fs::read_to_string(app.data_dir.path().join("mail").join(format!("{id}.eml")))
                .unwrap();
        assert!(
            mail.contains("To: \"Ada Lovelace\" <ada@example.com>"),
            "{mail}"
        );
        assert!(mail.contains(&format!("{}/c/", app.address)), "{mail}");
        let html = text(&page(&app, &owner.cookie, &format!("{path}?notice=link_email")).await);
        assert!(html.contains("on its way by email"), "{html}");
        assert!(html.contains("card_invite · delivered"), "{html}");
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(
            audit.contains("data-action=\"member.card_link_sent\""),
            "{audit}"
        );
    }
);
