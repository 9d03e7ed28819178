//! Attribution: a scripted journey through two campaigns (an email invitation and a poster's
//! enrollment link) ends in the funnel counts worked out by hand below.

use reqwest::header::{LOCATION, USER_AGENT};
use serde_json::{json, Value};

use crate::both_engines;
use crate::device::{install, push_token, Device};
use crate::helpers::*;
use crate::landing::{enroll_link, page, post_form, DESKTOP, IPHONE};

async fn funnel(app: &TestApp, campaign: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/campaigns/{campaign}"), &app.admin)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["funnel"].clone()
}

async fn personal_link(app: &TestApp, program: &str, member: &str, campaign: &str) -> String {
    let r = app
        .get(
            &format!("/api/v1/programs/{program}/links?member_id={member}&campaign_id={campaign}"),
            &app.admin,
        )
        .await;
    let links = r.body["links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{:?}", r.body);
    links[0]["code"].as_str().unwrap().to_string()
}

both_engines!(
    a_member_journey_produces_the_funnel,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let enroll = |name: &str, consent: bool| {
            json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()),
               "consent": {"email": consent}})
        };
        let mut ids = Vec::new();
        for (name, consent) in [("Ada", true), ("Bob", true), ("Cy", false)] {
            let r = app.enroll(&program, enroll(name, consent)).await;
            ids.push(r.body["id"].as_str().unwrap().to_string());
        }
        let (ada, bob) = (&ids[0], &ids[1]);

        // The email invitation: Ada and Bob get it (delivered to the development mail folder),
        // Cy gave no consent and is skipped.
        let r = app
            .post(
                &format!("/api/v1/programs/{program}/campaigns"),
                &app.admin,
                json!({"name": "Invite", "channel": "email", "template": "card_invite"}),
            )
            .await;
        let email = r.body["id"].as_str().unwrap().to_string();
        app.post(
            &format!("/api/v1/campaigns/{email}/send"),
            &app.admin,
            json!({}),
        )
        .await;
        app.state.outbox.drain().await.unwrap();

        // Ada opens her link on her iPhone twice, downloads the pass and installs it.
        let ada_link = personal_link(&app, &program, ada, &email).await;
        for _ in 0..2 {
            assert_eq!(page(&app, &format!("/c/{ada_link}"), IPHONE).await.0, 200);
        }
        let pkpass = app
            .client
            .get(app.url(&format!("/c/{ada_link}/apple.pkpass")))
            .header(USER_AGENT, IPHONE)
            .send()
            .await
            .unwrap();
        assert_eq!(pkpass.status(), 200);
        let pass = install(&app, ada).await;
        assert_eq!(
            Device::new("ada-iphone", &push_token(7))
                .register(&pass)
                .await,
            201
        );
        // Bob opens his on a desktop and goes no further.
        let bob_link = personal_link(&app, &program, bob, &email).await;
        assert_eq!(page(&app, &format!("/c/{bob_link}"), DESKTOP).await.0, 200);

        // A poster: two people open its enrollment link, one of them (Dee) enrolls and installs.
        let r = app
            .post(
                &format!("/api/v1/programs/{program}/campaigns"),
                &app.admin,
                json!({"name": "Shop window poster", "channel": "print"}),
            )
            .await;
        let poster = r.body["id"].as_str().unwrap().to_string();
        let link = enroll_link(
            &app,
            &program,
            json!({"campaign_id": poster, "channel": "print"}),
        )
        .await;
        let code = link["code"].as_str().unwrap().to_string();
        assert_eq!(page(&app, &format!("/c/{code}"), DESKTOP).await.0, 200);
        assert_eq!(page(&app, &format!("/c/{code}"), IPHONE).await.0, 200);
        let r = post_form(
            &app,
            &code,
            &[("name", "Dee"), ("email", "dee@example.com"), ("phone", "")],
            IPHONE,
        )
        .await;
        assert_eq!(r.status, 303);
        let dee_card = r.headers[LOCATION].to_str().unwrap().to_string();
        assert_eq!(page(&app, &dee_card, IPHONE).await.0, 200);
        let members = app
            .get(&format!("/api/v1/programs/{program}/members"), &app.admin)
            .await;
        let dee = members.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "Dee")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let pass = install(&app, &dee).await;
        assert_eq!(
            Device::new("dee-iphone", &push_token(8))
                .register(&pass)
                .await,
            201
        );

        // At the counter: Ada and Dee earn points; only Ada redeems a reward.
        let reward = app
            .post(
                &format!("/api/v1/programs/{program}/rewards"),
                &app.admin,
                json!({"name": "Free coffee", "cost": 50}),
            )
            .await;
        let reward = reward.body["id"].as_str().unwrap().to_string();
        let staff = app.create_key("staff", Some(&program)).await;
        for (i, member) in [ada.as_str(), dee.as_str()].into_iter().enumerate() {
            let code = app.card_code(member).await;
            let r = app
                .scan(
                    &staff,
                    Some(&format!("buy-{i}")),
                    json!({"code": code, "action": "purchase", "amount": "60.00"}),
                )
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
        }
        let code = app.card_code(ada).await;
        let r = app
            .scan(
                &staff,
                Some("redeem-ada"),
                json!({"code": code, "action": "redeem", "reward_id": reward}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);

        // Email: 2 sent and delivered, Cy skipped; Ada (twice, counted once) and Bob clicked;
        // Ada installed (after following the campaign's link) and redeemed.
        assert_eq!(
            funnel(&app, &email).await,
            json!({"sent": 2, "delivered": 2, "skipped": 1, "clicked": 2, "enrolled": 0,
               "installed": 1, "redeemed": 1})
        );
        // Poster: nothing sent; two anonymous visits (Dee's own card page after enrolling is not
        // a second click); Dee enrolled and installed, and redeemed nothing.
        assert_eq!(
            funnel(&app, &poster).await,
            json!({"sent": 0, "delivered": 0, "skipped": 0, "clicked": 2, "enrolled": 1,
               "installed": 1, "redeemed": 0})
        );
        let by_channel = app
            .get(&format!("/api/v1/campaigns/{poster}"), &app.admin)
            .await
            .body["funnel_by_channel"]
            .clone();
        assert_eq!(by_channel[0]["channel"], "print");
        assert_eq!(by_channel[0]["enrolled"], 1);
    }
);
