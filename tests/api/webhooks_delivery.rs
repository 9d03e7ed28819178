//! Events reaching an endpoint: points and tier changes delivered through the outbox with the
//! change that caused them, signed, recorded as deliveries and counted; events nobody
//! subscribed to (or only a switched-off endpoint did) are neither written nor sent.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::*;
use crate::webhook_receiver::{Received, WebhookReceiver};
use crate::webhooks::{check_envelope, drain, endpoint, metric, patch, verify};

both_engines!(
    points_changes_reach_the_endpoint_signed,
    |app: TestApp| async move {
        let receiver = WebhookReceiver::start().await;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let (id, secret) = endpoint(
            &app,
            &program,
            &receiver.url("/hooks/passwright"),
            json!(["points.changed", "member.tier_changed"]),
        )
        .await;
        // 4.00 of coffee: 8 points, still Bronze. Then 60.00: 120 more, Silver.
        let r = app
            .earn(
                &member,
                &app.admin,
                "w-1",
                json!({"amount": "4.00", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let r = app
            .earn(
                &member,
                &app.admin,
                "w-2",
                json!({"amount": "60.00", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.body["tier_changed"], true);
        // A replay changes nothing and sends nothing.
        let r = app
            .earn(
                &member,
                &app.admin,
                "w-2",
                json!({"amount": "60.00", "product_types": ["coffee"]}),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(app.count("webhook_events").await, 3);
        drain(&app).await;

        let got = receiver.received();
        assert_eq!(got.len(), 3, "{got:?}");
        let now = passwright::clock::system_now().unix_timestamp();
        let mut types = Vec::new();
        for r in &got {
            assert_eq!(r.path, "/hooks/passwright");
            let t = verify(r, &secret);
            assert!((now - t).abs() < 300, "timestamp {t} is not now ({now})");
            let body = check_envelope(r, &program);
            assert_eq!(body["data"]["member"]["id"], member.as_str());
            types.push(body["type"].as_str().unwrap().to_string());
        }
        types.sort();
        assert_eq!(
            types,
            ["member.tier_changed", "points.changed", "points.changed"]
        );
        let bodies: Vec<Value> = got.iter().map(Received::json).collect();
        let first = bodies
            .iter()
            .find(|b| b["data"]["entry"]["idempotency_key"] == "w-1")
            .unwrap();
        assert_eq!(first["data"]["entry"]["amount"], 8);
        assert_eq!(first["data"]["entry"]["kind"], "earn");
        assert_eq!(first["data"]["member"]["balance"], 8);
        let tier = bodies
            .iter()
            .find(|b| b["type"] == "member.tier_changed")
            .unwrap();
        assert_eq!(tier["data"]["previous_tier"], "Bronze");
        assert_eq!(tier["data"]["tier"], "Silver");
        assert_eq!(tier["data"]["member"]["lifetime_points"], 128);
        // Someone else's signature does not verify: the check above can fail.
        let forged = std::panic::catch_unwind(|| verify(&got[0], "whsec_not-the-secret"));
        assert!(forged.is_err());

        // What the endpoint was sent, newest first, each delivered on the first attempt.
        let r = app
            .get(&format!("/api/v1/webhooks/{id}/deliveries"), &app.admin)
            .await;
        assert_eq!(r.status, 200);
        let deliveries = r.body["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 3);
        for d in deliveries {
            assert_eq!(
                (&d["state"], &d["attempts"]),
                (&json!("done"), &json!(1)),
                "{d}"
            );
        }
        assert_eq!(
            deliveries[2]["event_id"],
            bodies
                .iter()
                .find(|b| b["data"]["entry"]["idempotency_key"] == "w-1")
                .unwrap()["id"]
        );
        assert_eq!(metric(&app.metrics().await, "delivered"), "3");
    }
);

both_engines!(
    unsubscribed_events_are_not_sent,
    |app: TestApp| async move {
        let receiver = WebhookReceiver::start().await;
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        endpoint(
            &app,
            &program,
            &receiver.url("/cards"),
            json!(["card.installed"]),
        )
        .await;
        endpoint(
            &app,
            &program,
            &receiver.url("/tiers"),
            json!(["member.tier_changed"]),
        )
        .await;
        endpoint(&app, &other, &receiver.url("/other"), json!(["*"])).await;
        let (off, _) = endpoint(&app, &program, &receiver.url("/off"), json!(["*"])).await;
        let r = patch(
            &app,
            &app.admin,
            &format!("/api/v1/webhooks/{off}"),
            json!({"active": false}),
        )
        .await;
        assert_eq!(r.status, 200);
        // Points change, the tier does not: no endpoint of this program takes that.
        let r = app
            .adjust(&member, "u-1", json!({"points": 5, "reason": "welcome"}))
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(
            app.count("webhook_events").await,
            0,
            "nothing written for no one"
        );
        assert_eq!(app.count("webhook_deliveries").await, 0);
        drain(&app).await;
        assert!(receiver.received().is_empty(), "{:?}", receiver.received());
        // Reaching Silver is sent, once, to the one endpoint that takes it.
        let r = app
            .adjust(&member, "u-2", json!({"points": 100, "reason": "promo"}))
            .await;
        assert_eq!(r.body["tier_changed"], true);
        drain(&app).await;
        let got = receiver.received();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].path, "/tiers");
        assert_eq!(got[0].json()["type"], "member.tier_changed");

        // New thresholds move Ada (105 lifetime points) back to Bronze: sent too, once;
        // Bob, Bronze before and after, is not mentioned.
        let bob = app.member(&program, "Bob").await;
        let tiers = json!([{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 200},
                           {"name": "Gold", "threshold": 500}]);
        let r = app
            .send(
                Method::PUT,
                &format!("/api/v1/programs/{program}/tiers"),
                Some(&app.admin),
                Some(&tiers),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        drain(&app).await;
        let got = receiver.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].path, "/tiers");
        let body = got[1].json();
        assert_eq!(body["type"], "member.tier_changed");
        assert_eq!(body["data"]["member"]["id"], member.as_str());
        assert_eq!(body["data"]["member"]["tier"], "Bronze");
        assert_eq!(body["data"]["previous_tier"], "Silver");
        assert_eq!(body["data"]["tier"], "Bronze");
        assert_ne!(body["data"]["member"]["id"], bob.as_str());
    }
);
