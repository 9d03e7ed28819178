//! Enrolling from a landing page's form: a good form creates the member with their consent and
//! opens their card page and pass; a form with problems comes back filled in, with its errors,
//! and writes nothing, as does one posted from another site.

use reqwest::header::{CONTENT_TYPE, LOCATION, USER_AGENT};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::landing::{
    buttons, campaign, enroll_link, events, page, post_form, text, ANDROID, IPHONE,
};
use crate::passes::unzip;

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
