//! The links API: enrollment and card links made, listed, read and revoked (campaigns and
//! channels checked, a member's card link made once per campaign and channel), and the roles
//! and program scope it takes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::landing::{campaign, enroll_link, page, IPHONE};

both_engines!(
    links_api_manages_enrollment_and_card_links,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let spring = campaign(&app, &program, "print").await;
        let link = enroll_link(
            &app,
            &program,
            json!({"campaign_id": spring, "channel": "print", "label": "Window poster"}),
        )
        .await;
        let code = link["code"].as_str().unwrap();
        assert_eq!(code.len(), 8);
        assert_eq!(link["kind"], "enroll");
        assert_eq!(link["url"], format!("{}/c/{code}", app.address));
        assert_eq!(link["qr_png"], format!("{}/c/{code}/qr.png", app.address));
        assert_eq!(link["qr_svg"], format!("{}/c/{code}/qr.svg", app.address));
        assert_eq!(
            (&link["campaign_id"], &link["channel"], &link["label"]),
            (&json!(spring), &json!("print"), &json!("Window poster"))
        );
        assert_eq!(link["revoked_at"], Value::Null);
        let plain = enroll_link(&app, &program, json!({})).await;
        assert_eq!(plain["campaign_id"], Value::Null);

        // A campaign of another program, an unknown one, a made-up channel: refused, not stored.
        let other = app.sample_program().await;
        let theirs = campaign(&app, &other, "email").await;
        let links_before = app.count("links").await;
        for body in [
            json!({"campaign_id": theirs}),
            json!({"campaign_id": "cmp_aaaaaaaaaaaaaaaa"}),
            json!({"campaign_id": "spring"}),
            json!({"channel": "fax"}),
            json!({"label": ""}),
        ] {
            let r = app
                .post(
                    &format!("/api/v1/programs/{program}/links"),
                    &app.admin,
                    body.clone(),
                )
                .await;
            assert_eq!(r.status, 422, "{body}: {:?}", r.body);
            assert_eq!(r.code(), "validation_failed", "{body}");
        }
        let r = app
            .post(
                &format!("/api/v1/programs/{program}/links"),
                &app.admin,
                json!({"kind": "card"}),
            )
            .await;
        assert_eq!(r.code(), "invalid_body");
        assert_eq!(app.count("links").await, links_before);

        // A member's card link: made once per campaign and channel, then the same one.
        let member = app.member(&program, "Ada").await;
        let path = format!("/api/v1/members/{member}/links");
        let body = json!({"campaign_id": spring, "channel": "email"});
        let first = app.post(&path, &app.admin, body.clone()).await;
        assert_eq!(first.status, 201, "{:?}", first.body);
        assert_eq!(first.body["kind"], "card");
        assert_eq!(first.body["member_id"], json!(member));
        assert_eq!(first.body["code"].as_str().unwrap().len(), 24);
        let again = app.post(&path, &app.admin, body).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body["code"], first.body["code"]);
        let other_channel = app.post(&path, &app.admin, json!({"channel": "sms"})).await;
        assert_eq!(other_channel.status, 201);
        assert_ne!(other_channel.body["code"], first.body["code"]);
        let r = app
            .post(&path, &app.admin, json!({"campaign_id": theirs}))
            .await;
        assert_eq!(r.code(), "validation_failed");

        // Lists: the program's, a member's, a campaign's.
        let list = |q: String| {
            let app = &app;
            let program = program.clone();
            async move {
                let r = app
                    .get(&format!("/api/v1/programs/{program}/links{q}"), &app.admin)
                    .await;
                assert_eq!(r.status, 200, "{:?}", r.body);
                r.body["links"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["code"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list(String::new()).await.len(), 4);
        assert_eq!(list(format!("?member_id={member}")).await.len(), 2);
        let of_campaign = list(format!("?campaign_id={spring}")).await;
        assert_eq!(of_campaign.len(), 2);
        assert!(of_campaign.contains(&code.to_string()));
        let r = app
            .get(
                &format!("/api/v1/programs/{program}/links?member_id=x"),
                &app.admin,
            )
            .await;
        r.assert_refused(422, "validation_failed", Some("member_id"));

        // Read, revoke (twice is fine), and the page is gone.
        let one = format!("/api/v1/links/{code}");
        let r = app.get(&one, &app.admin).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, link);
        let r = app
            .send(Method::DELETE, &one, Some(&app.admin), None, &[])
            .await;
        assert_eq!(r.status, 204);
        let r = app
            .send(Method::DELETE, &one, Some(&app.admin), None, &[])
            .await;
        assert_eq!(r.status, 204);
        let r = app.get(&one, &app.admin).await;
        assert!(r.body["revoked_at"].is_string(), "{:?}", r.body);
        let (status, html) = page(&app, &format!("/c/{code}"), IPHONE).await;
        assert_eq!(status, 410);
        assert!(html.contains("This link is no longer valid"), "{html}");
        let r = app.get("/api/v1/links/zzzzzzzz", &app.admin).await;
        r.assert_refused(404, "not_found", None);
        let r = app.get("/api/v1/links/NOT-A-CODE", &app.admin).await;
        r.assert_refused(404, "not_found", None);
    }
);

both_engines!(
    links_api_checks_roles_and_program_scope,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let link = enroll_link(&app, &program, json!({})).await;
        let code = link["code"].as_str().unwrap();
        let staff = app.create_key("staff", Some(&program)).await;
        let elsewhere = app.create_key("marketer", Some(&other)).await;
        let marketer = app.create_key("marketer", Some(&program)).await;
        let calls = [
            (
                Method::POST,
                format!("/api/v1/programs/{program}/links"),
                Some(json!({})),
            ),
            (
                Method::GET,
                format!("/api/v1/programs/{program}/links"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/members/{member}/links"),
                Some(json!({})),
            ),
            (Method::GET, format!("/api/v1/links/{code}"), None),
            (Method::DELETE, format!("/api/v1/links/{code}"), None),
        ];
        for (method, path, body) in &calls {
            for key in [&staff, &elsewhere] {
                let r = app
                    .send(method.clone(), path, Some(key), body.as_ref(), &[])
                    .await;
                assert_eq!(r.status, 403, "{method} {path}: {:?}", r.body);
                assert_eq!(r.code(), "forbidden");
            }
            let r = app
                .send(method.clone(), path, None, body.as_ref(), &[])
                .await;
            assert_eq!(r.status, 401, "{method} {path}");
        }
        assert_eq!(app.count("links").await, 1, "refused calls made no link");
        for (method, path, body) in &calls {
            let r = app
                .send(method.clone(), path, Some(&marketer), body.as_ref(), &[])
                .await;
            assert!(r.status.is_success(), "{method} {path}: {:?}", r.body);
        }
    }
);
