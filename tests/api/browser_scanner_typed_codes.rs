//! The staff scanner with typed codes: an altered code refused as staff would see it, a lost
//! answer retried without recording twice, cancelled actions recording nothing, refusals after
//! changes made elsewhere, and signing in and out.

use serde_json::{json, Value};

use crate::both_engines;
use crate::browser::{
    balance, counter, disabled, ledger, reward_button, scans, sign_in_staff, test_name,
};
use crate::chromium::{Browser, Launch};
use crate::helpers::*;

both_engines!(
    scanner_takes_typed_codes_and_shows_every_refusal,
    |app: TestApp| async move {
        let test = &test_name(&app, "scanner_takes_typed_codes");
        let c = counter(&app).await;
        let Some(mut b) = Browser::launch(test, Launch::default()).await else {
            return;
        };
        sign_in_staff(&mut b, &app, &c).await;

        // An altered code: one character of the signature changed.
        let mut altered = c.code.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'a' { 'b' } else { 'a' });
        b.fill("#code", &altered).await;
        b.click("#manual-form button[type=submit]").await;
        let rejected = b
            .wait_text(
                "#status[data-kind='scan_rejected'] #status-text",
                "rejected",
            )
            .await;
        assert!(rejected.starts_with("Card rejected: "), "{rejected}");
        assert!(rejected.contains("altered"), "{rejected}");
        assert_eq!(
            b.attr("#status", "data-reason").await.as_deref(),
            Some("forged")
        );
        assert_eq!(b.attr("#status", "role").await.as_deref(), Some("alert"));
        assert_eq!(
            b.eval("document.getElementById('member').hidden").await,
            true
        );
        b.screenshot("rejected").await;
        let records = scans(&app).await;
        assert_eq!(records.len(), 1, "the rejection is on record: {records:?}");
        assert_eq!(records[0]["result"], "rejected");
        assert_eq!(records[0]["reason"], "forged");
        assert_eq!(records[0]["staff_key_id"], c.staff_id.as_str());
        assert_eq!(records[0]["location_id"], c.location.as_str());

        // The real code, typed.
        b.fill("#code", &c.code).await;
        b.click("#manual-form button[type=submit]").await;
        b.wait_text("#member-name", "Ada Lovelace").await;
        assert_eq!(b.text("#member-balance").await, "120 points");

        // A purchase whose answer is lost after the server recorded it: the retry sends the
        // same Idempotency-Key, so the points are credited once.
        b.fill("#amount", "12.50").await;
        b.fill("#products", "coffee").await;
        b.click("#purchase-form button[type=submit]").await;
        let question = b.wait("#confirm-text").await;
        assert_eq!(
            question,
            "Record a purchase of 12.50 (coffee) for Ada Lovelace?"
        );
        b.fail_responses("*/api/v1/scans", 1).await;
        b.click("#confirm-yes").await;
        let lost = b
            .wait_text("#status[data-kind='network'] #status-text", "Network error")
            .await;
        assert!(lost.contains("will not be recorded twice"), "{lost}");
        assert_eq!(
            balance(&app, &c.member).await,
            145,
            "the server did record it"
        );
        b.click("#retry").await;
        let done = b.wait_text("#status-text", "Purchase recorded").await;
        assert_eq!(
            done,
            "Purchase recorded: 25 points earned. New balance: 145 points. \
             (It had already been recorded.)"
        );
        let earned: Vec<Value> = ledger(&app, &c.member)
            .await
            .into_iter()
            .filter(|e| e["amount"] == 25)
            .collect();
        assert_eq!(earned.len(), 1, "credited once: {earned:?}");
        assert_eq!(earned[0]["actor"], format!("api_key:{}", c.staff_id));

        // The amount is cleared once recorded.
        assert_eq!(b.eval("document.getElementById('amount').value").await, "");
        // Cancelling records nothing; Escape cancels too.
        let entries = ledger(&app, &c.member).await.len();
        b.click("#visit").await;
        b.wait_text("#confirm-text", "Record a visit for Ada Lovelace?")
            .await;
        b.click("#confirm-no").await;
        b.wait_text("#status-text", "Cancelled").await;
        b.click("#visit").await;
        b.wait("#confirm-text").await;
        b.eval("document.getElementById('confirm-yes').dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))")
            .await;
        b.gone("#confirm").await;
        assert_eq!(ledger(&app, &c.member).await.len(), entries);
        // A visit, confirmed: a new action, so a new key, recorded.
        let scans = app.count("scans").await;
        b.click("#visit").await;
        b.wait("#confirm-text").await;
        b.click("#confirm-yes").await;
        b.wait_text("#status-text", "Visit recorded").await;
        assert_eq!(app.count("scans").await, scans + 1);

        // Another till redeems the coffee meanwhile: this page still offers it, and is told.
        let other = app
            .send(
                reqwest::Method::POST,
                "/api/v1/scans",
                Some(&app.admin),
                Some(&json!({"code": c.code, "action": "redeem", "reward_id": c.coffee})),
                &[("Idempotency-Key", "other-till-1")],
            )
            .await;
        assert_eq!(other.status, 201, "{:?}", other.body);
        b.click(&reward_button(&c.coffee)).await;
        b.wait("#confirm-text").await;
        b.click("#confirm-yes").await;
        let refused = b
            .wait("#status[data-kind='reward_already_redeemed'] #status-text")
            .await;
        assert_eq!(
            refused,
            "This reward has already been redeemed by this member. \
             Look the card up again to see where it stands."
        );
        // What the page shows is out of date now: its actions are off until a new look-up.
        assert!(disabled(&mut b, "#visit").await);
        b.click("#retry").await;
        b.wait_text("#status-text", "Card accepted").await;
        assert!(!disabled(&mut b, "#visit").await);
        assert!(disabled(&mut b, &reward_button(&c.coffee)).await);

        // Points taken away elsewhere: the cake the page offers is now too dear.
        let r = app
            .adjust(
                &c.member,
                "elsewhere",
                json!({"points": -50, "reason": "correction"}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let before = balance(&app, &c.member).await;
        assert!(before < 60, "{before}");
        b.click(&reward_button(&c.cake)).await;
        b.wait("#confirm-text").await;
        b.click("#confirm-yes").await;
        let refused = b
            .wait("#status[data-kind='insufficient_points'] #status-text")
            .await;
        assert!(
            refused.starts_with("Not enough points for this reward."),
            "{refused}"
        );
        assert_eq!(balance(&app, &c.member).await, before);
        assert_eq!(b.text("#retry").await, "Look up again");
        b.screenshot("refused").await;
        b.click("#retry").await;
        b.wait_text("#member-balance", &format!("{before} points"))
            .await;
        assert!(disabled(&mut b, &reward_button(&c.cake)).await);

        // The key lasts as long as the tab: a reload stays signed in.
        b.goto(&app.url("/staff")).await;
        assert_eq!(b.wait("#whoami").await, "Signed in as Till 1 – Anna");
        // Signing out forgets it.
        b.click("#sign-out").await;
        b.wait("#sign-in").await;
        let kept = b
            .eval("sessionStorage.getItem('passwright.staff.key')")
            .await;
        assert_eq!(kept, Value::Null);
        b.goto(&app.url("/staff")).await;
        b.wait("#sign-in").await;
        // A wrong key is refused on the page.
        b.fill("#key", "pw_not_a_key").await;
        b.click("#sign-in-form button[type=submit]").await;
        let refused = b.wait("#sign-in-error").await;
        assert_eq!(refused, "This key was not accepted.");
        let errors = b.errors().await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        b.close().await;
    }
);
