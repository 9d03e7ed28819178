//! The staff scanner reading a real card's QR code through the fake camera: the member shown
//! with what they can afford, a reward redeemed after a confirmation step, and the database
//! agreeing with what the page said.

use crate::both_engines;
use crate::browser::{
    balance, counter, disabled, ledger, reward_button, scans, sign_in_staff, test_name,
};
use crate::chromium::{Browser, Launch};
use crate::fake_camera::write_qr_y4m;
use crate::helpers::*;

both_engines!(
    scanner_reads_a_card_from_the_camera_and_redeems_a_reward,
    |app: TestApp| async move {
        let test = &test_name(&app, "scanner_reads_a_card_from_the_camera");
        let c = counter(&app).await;
        let dir = tempfile::tempdir().unwrap();
        let camera = dir.path().join("card.y4m");
        write_qr_y4m(&c.code, &camera);
        let launch = Launch {
            camera: Some(camera),
            ..Launch::default()
        };
        let Some(mut b) = Browser::launch(test, launch).await else {
            return;
        };
        sign_in_staff(&mut b, &app, &c).await;

        b.click("#camera-start").await;
        let name = b.wait_text("#member-name", "Ada Lovelace").await;
        assert_eq!(name, "Ada Lovelace");
        let decoder = b.attr("#camera-status", "data-decoder").await.unwrap();
        assert!(["jsQR", "BarcodeDetector"].contains(&decoder.as_str()));
        assert_eq!(b.text("#status-text").await, "Card accepted: Ada Lovelace.");
        assert_eq!(b.text("#member-tier").await, "Silver");
        assert_eq!(b.text("#member-balance").await, "120 points");
        assert_eq!(b.text("#member-next").await, "380 points to Gold");
        // The camera stops once it has read a card.
        b.gone("#camera").await;
        // Affordable rewards can be redeemed; the others say what is missing.
        assert!(!disabled(&mut b, &reward_button(&c.coffee)).await);
        assert!(!disabled(&mut b, &reward_button(&c.cake)).await);
        assert!(disabled(&mut b, &reward_button(&c.tote)).await);
        let tote = b
            .text(&format!("#rewards li[data-reward-id='{}']", c.tote))
            .await;
        assert!(tote.contains("Needs 380 points more"), "{tote}");
        let recent = b.text("#recent").await;
        assert!(recent.contains("+120"), "{recent}");
        b.screenshot("member").await;

        // Redeem, with a confirmation step first.
        b.click(&reward_button(&c.coffee)).await;
        let question = b.wait("#confirm-text").await;
        assert_eq!(
            question,
            "Redeem “Free coffee” for 50 points from Ada Lovelace? The balance becomes 70 points."
        );
        assert_eq!(
            ledger(&app, &c.member).await.len(),
            1,
            "nothing before confirming"
        );
        b.click("#confirm-yes").await;
        let done = b.wait_text("#status-text", "Redeemed").await;
        assert_eq!(done, "Redeemed Free coffee. New balance: 70 points.");
        assert_eq!(b.attr("#status", "role").await.as_deref(), Some("status"));
        b.gone("#confirm").await;
        assert_eq!(b.text("#member-balance").await, "70 points");
        // Single use: redeemed now, so it cannot be offered again.
        assert!(disabled(&mut b, &reward_button(&c.coffee)).await);
        let coffee = b
            .text(&format!("#rewards li[data-reward-id='{}']", c.coffee))
            .await;
        assert!(coffee.contains("Already redeemed"), "{coffee}");
        // It fits a phone: nothing wider than the 375px screen.
        let width = b.eval("document.documentElement.scrollWidth").await;
        assert!(width.as_i64().unwrap() <= 375, "page is {width}px wide");
        b.screenshot("redeemed").await;
        let errors = b.errors().await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        b.close().await;

        // The database agrees: one redemption of 50 by the staff key, at this balance.
        let entries = ledger(&app, &c.member).await;
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[0]["kind"], "redeem");
        assert_eq!(entries[0]["amount"], -50);
        assert_eq!(entries[0]["balance_after"], 70);
        assert_eq!(entries[0]["actor"], format!("api_key:{}", c.staff_id));
        assert_eq!(balance(&app, &c.member).await, 70);
        // Both scans are on record, at the chosen location: the lookup and the redemption.
        let records = scans(&app).await;
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(records[0]["action"], "redeem");
        assert_eq!(records[0]["result"], "accepted");
        assert_eq!(records[0]["reward_id"], c.coffee.as_str());
        assert_eq!(records[1]["action"], "lookup");
        for r in &records {
            assert_eq!(r["location_id"], c.location.as_str());
            assert_eq!(r["member_id"], c.member.as_str());
            assert_eq!(r["staff_name"], "Till 1 – Anna");
        }
    }
);
