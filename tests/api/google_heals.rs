//! Google Wallet heals by itself when Google has lost the program's class (deleted in its
//! console): the next object update writes the class again and then the object, and the next
//! save link does the same instead of answering 503 until a restart. A cancelled card gets no
//! save link.

use serde_json::json;

use crate::both_engines;
use crate::google_wallet::{google_app, ISSUER};
use crate::helpers::*;

both_engines!(
    a_class_google_lost_is_written_again,
    run = |engine, test| async move {
        let Some(g) = google_app(engine, test).await else {
            return;
        };
        let app = &g.app;
        let program = app.sample_program().await;
        let class_id = format!("{ISSUER}.{program}");
        let ada = app.member(&program, "Ada Lovelace").await;
        let save = |member: String| async move {
            app.post(
                &format!("/api/v1/members/{member}/google"),
                &app.admin,
                json!({}),
            )
            .await
        };
        let r = save(ada.clone()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let (object_id, _) = g.fake.objects().into_iter().next().unwrap();

        // Google loses the class and the object; a points change heals both.
        g.fake.forget("loyaltyClass", &class_id).unwrap();
        g.fake.forget("loyaltyObject", &object_id).unwrap();
        let r = app
            .adjust(&ada, "heal-1", json!({"points": 42, "reason": "x"}))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        app.state.outbox.drain().await.unwrap();
        assert!(g.fake.class(&class_id).is_some(), "the class is back");
        let object = g.fake.object(&object_id).expect("the object is back");
        assert_eq!(object["loyaltyPoints"]["balance"]["int"], 42);
        let stats = app.state.store.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.failed), (0, 0));

        // Lost again: the next save link (this instance believes the class is there) heals it.
        g.fake.forget("loyaltyClass", &class_id).unwrap();
        let grace = app.member(&program, "Grace Hopper").await;
        let r = save(grace).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert!(g.fake.class(&class_id).is_some(), "the class is back");
        assert_eq!(g.fake.objects().len(), 2);

        // A cancelled card gets no save link.
        let r = app
            .post(
                &format!("/api/v1/members/{ada}/void"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = save(ada).await;
        r.assert_refused(409, "member_voided", None);
    }
);
