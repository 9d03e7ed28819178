//! Cards installed and removed: Apple registrations (and tokens APNs says are gone) and Google
//! callbacks recorded as card events for reports, and sent as webhooks.

use passwright::domain::apple_ids::PassTypeId;
use passwright::domain::device::PushToken;
use passwright::domain::ids::{MemberId, ProgramId};
use serde_json::json;

use crate::both_engines;
use crate::device::{install, push_token, Device};
use crate::helpers::*;
use crate::webhook_receiver::WebhookReceiver;
use crate::webhooks::{check_envelope, drain, endpoint, verify};

both_engines!(
    apple_registrations_are_card_events,
    |app: TestApp| async move {
        let receiver = WebhookReceiver::start().await;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let (_, secret) = endpoint(
            &app,
            &program,
            &receiver.url("/cards"),
            json!(["card.installed", "card.removed"]),
        )
        .await;
        let pass = install(&app, &member).await;
        let phone = Device::new("cardphone", &push_token(500));
        let watch = Device::new("cardwatch", &push_token(501));
        assert_eq!(phone.register(&pass).await, 201);
        assert_eq!(
            phone.register(&pass).await,
            200,
            "already registered: no event"
        );
        assert_eq!(watch.register(&pass).await, 201);
        assert_eq!(phone.unregister(&pass).await, 200);
        assert_eq!(phone.unregister(&pass).await, 200, "nothing left: no event");
        // APNs says the watch's token is gone: its registration goes, a removal too.
        let topic = PassTypeId::parse(PASS_TYPE_ID).unwrap();
        let token = PushToken::parse(&watch.push_token).unwrap();
        let now = passwright::clock::system_now();
        let removed = app
            .state
            .store
            .drop_push_token(&topic, &token, now, now)
            .await
            .unwrap();
        assert_eq!(removed, 1);

        let pid = ProgramId::parse(&program).unwrap();
        let events = app.state.store.card_events(&pid).await.unwrap();
        let seen: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| (e.member_id.as_str(), e.wallet.as_str(), e.event.as_str()))
            .collect();
        let m = member.as_str();
        assert_eq!(
            seen,
            [
                (m, "apple", "installed"),
                (m, "apple", "installed"),
                (m, "apple", "removed"),
                (m, "apple", "removed"),
            ]
        );
        drain(&app).await;
        let got = receiver.received();
        assert_eq!(got.len(), 4, "{got:?}");
        let mut types: Vec<String> = got
            .iter()
            .map(|r| {
                verify(r, &secret);
                let body = check_envelope(r, &program);
                assert_eq!(body["data"]["wallet"], "apple");
                assert_eq!(body["data"]["member"]["id"], m);
                body["type"].as_str().unwrap().to_string()
            })
            .collect();
        types.sort();
        assert_eq!(
            types,
            [
                "card.installed",
                "card.installed",
                "card.removed",
                "card.removed"
            ]
        );
    }
);

both_engines!(
    google_callbacks_are_card_events,
    |app: TestApp| async move {
        let store = &app.state.store;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let pid = ProgramId::parse(&program).unwrap();
        let mid = MemberId::parse(&member).unwrap();
        let now = passwright::clock::system_now();
        store
            .issue_google_object(&mid, &pid, "3388.obj-1", "3388.class", now)
            .await
            .unwrap();
        assert!(store
            .record_google_callback("n-1", "3388.obj-1", "3388.class", true, now)
            .await
            .unwrap());
        assert!(
            !store
                .record_google_callback("n-1", "3388.obj-1", "3388.class", true, now)
                .await
                .unwrap(),
            "a replayed nonce"
        );
        assert!(store
            .record_google_callback("n-2", "3388.obj-1", "3388.class", false, now)
            .await
            .unwrap());
        // A callback about an object passwright never issued is kept, but no card event.
        assert!(store
            .record_google_callback("n-3", "3388.unknown", "3388.class", true, now)
            .await
            .unwrap());
        let events = store.card_events(&pid).await.unwrap();
        let seen: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.wallet.as_str(), e.event.as_str()))
            .collect();
        assert_eq!(seen, [("google", "installed"), ("google", "removed")]);
        assert!(events.iter().all(|e| e.member_id == member));
        assert_eq!(app.count("card_events").await, 2);
    }
);
