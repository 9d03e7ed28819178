//! Links that lead nowhere: unknown codes are 404, cancelled cards and revoked links say so
//! with a 410, and a card link takes no enrollment form.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::landing::{card_link, page, post_form, IPHONE};

both_engines!(
    unknown_revoked_and_cancelled_links_say_so,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        for path in [
            "/c/zzzzzzzz",
            "/c/not-a-code",
            "/c/zzzzzzzzzzzzzzzzzzzzzzzz/apple.pkpass",
        ] {
            let (status, html) = page(&app, path, IPHONE).await;
            assert_eq!(status, 404, "{path}");
            assert!(html.contains("Page not found"), "{path}");
        }
        let member = app.member(&program, "Ada").await;
        let code = card_link(&app, &member).await;
        let r = app
            .post(
                &format!("/api/v1/members/{member}/void"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200);
        for path in [format!("/c/{code}"), format!("/c/{code}/apple.pkpass")] {
            let (status, html) = page(&app, &path, IPHONE).await;
            assert_eq!(status, 410, "{path}");
            assert!(html.contains("This card was cancelled"), "{path}: {html}");
        }
        let r = app
            .post(
                &format!("/api/v1/members/{member}/links"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.code(), "member_voided");

        let live = app.member(&program, "Grace").await;
        let code = card_link(&app, &live).await;
        app.send(
            Method::DELETE,
            &format!("/api/v1/links/{code}"),
            Some(&app.admin),
            None,
            &[],
        )
        .await;
        for path in [format!("/c/{code}"), format!("/c/{code}/apple.pkpass")] {
            let (status, html) = page(&app, &path, IPHONE).await;
            assert_eq!(status, 410, "{path}");
            assert!(html.contains("This link is no longer valid"), "{path}");
        }
        // A card link takes no enrollment form.
        let r = post_form(
            &app,
            &card_link(&app, &live).await,
            &[("name", "X"), ("email", "x@example.com")],
            IPHONE,
        )
        .await;
        assert_eq!(r.status, 404);
    }
);
