//! The staff scanner and the dashboard in headless Chromium, against the real application:
//! a real card's QR code read through the fake camera, the code typed in, refusals shown as
//! staff would see them, a lost answer retried without recording twice, and the dashboard's
//! charts inlined from the server. What the page says is checked against the database.

use std::path::Path;

use serde_json::{json, Value};

use crate::both_engines;
use crate::chromium::{Browser, Launch};
use crate::fake_camera::write_qr_y4m;
use crate::helpers::*;

/// A program at the counter: rewards, a location, a staff key and a member with 120 points.
struct Counter {
    program: String,
    location: String,
    staff: String,
    staff_id: String,
    member: String,
    /// The text of the member's card barcode, read from their downloaded pass.
    code: String,
    coffee: String,
    cake: String,
    tote: String,
}

async fn reward(app: &TestApp, program: &str, name: &str, cost: i64) -> String {
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            json!({"name": name, "cost": cost}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn location(app: &TestApp, program: &str, name: &str) -> String {
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            &app.admin,
            json!({"name": name, "address": "1 High Street"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// A staff key limited to `program`: (secret, id).
async fn staff_key(app: &TestApp, program: &str, name: &str) -> (String, String) {
    let r = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": name, "role": "staff", "program_id": program}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (
        r.body["secret"].as_str().unwrap().to_string(),
        r.body["id"].as_str().unwrap().to_string(),
    )
}

async fn counter(app: &TestApp) -> Counter {
    let program = app.sample_program().await;
    let coffee = reward(app, &program, "Free coffee", 50).await;
    let cake = reward(app, &program, "Slice of cake", 60).await;
    let tote = reward(app, &program, "Tote bag", 500).await;
    let location = location(app, &program, "Counter 1").await;
    let (staff, staff_id) = staff_key(app, &program, "Till 1 – Anna").await;
    let r = app
        .enroll(
            &program,
            json!({"name": "Ada Lovelace", "external_id": "CRM-7"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let member = r.body["id"].as_str().unwrap().to_string();
    let pass_url = r.body["pass_url"].as_str().unwrap().to_string();
    let e = app
        .earn(&member, &app.admin, "seed", json!({"amount": 120}))
        .await;
    assert_eq!(e.status, 201, "{:?}", e.body);
    let code = app.pass_barcode(&pass_url).await;
    Counter {
        program,
        location,
        staff,
        staff_id,
        member,
        code,
        coffee,
        cake,
        tote,
    }
}

/// The member's ledger, newest first.
async fn ledger(app: &TestApp, member: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/members/{member}/ledger"), &app.admin)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["entries"].as_array().unwrap().clone()
}

/// Scan records, newest first.
async fn scans(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/v1/scans", &app.admin).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["scans"].as_array().unwrap().clone()
}

async fn balance(app: &TestApp, member: &str) -> i64 {
    let r = app
        .get(&format!("/api/v1/members/{member}"), &app.admin)
        .await;
    r.body["balance"].as_i64().unwrap()
}

/// Signs in on `/staff` with the counter's key and waits for its location to be chosen.
async fn sign_in_staff(b: &mut Browser, app: &TestApp, c: &Counter) {
    b.phone().await;
    b.goto(&app.url("/staff")).await;
    b.fill("#key", &c.staff).await;
    b.click("#sign-in-form button[type=submit]").await;
    let who = b.wait("#whoami").await;
    assert_eq!(who, "Signed in as Till 1 – Anna");
    b.wait("#location[data-loaded='1']").await;
    let chosen = b.eval("document.getElementById('location').value").await;
    assert_eq!(chosen, json!(c.location), "the only location is chosen");
}

/// The test's name with its engine, so the two runs keep their screenshots apart.
fn test_name(app: &TestApp, test: &str) -> String {
    format!("{test}::{:?}", app.state.store.engine()).to_lowercase()
}

fn reward_button(reward: &str) -> String {
    format!("#rewards button[data-reward-id='{reward}']")
}

async fn disabled(b: &mut Browser, selector: &str) -> bool {
    let expr = format!("document.querySelector({}).disabled", json!(selector));
    b.eval(&expr).await.as_bool().unwrap()
}

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
        // A wrong key is refused on the page; a staff key does not open the dashboard.
        b.fill("#key", "pw_not_a_key").await;
        b.click("#sign-in-form button[type=submit]").await;
        let refused = b.wait("#sign-in-error").await;
        assert_eq!(refused, "This key was not accepted.");
        b.goto(&app.url("/admin")).await;
        b.fill("#key", &c.staff).await;
        b.click("#sign-in-form button[type=submit]").await;
        let refused = b.wait("#sign-in-error").await;
        assert_eq!(refused, "A staff key cannot use this page.");
        assert_eq!(
            b.eval("document.getElementById('dashboard').hidden").await,
            true
        );
        let errors = b.errors().await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        b.close().await;
    }
);

/// Scans through the API as the tills would make them; returns the idempotency keys used.
async fn scan(app: &TestApp, key: &str, idem: &str, body: Value) -> Value {
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/scans",
            Some(key),
            Some(&body),
            &[("Idempotency-Key", idem)],
        )
        .await;
    assert_eq!(r.status, 201, "{body}: {:?}", r.body);
    r.body
}

both_engines!(
    dashboard_shows_figures_charts_and_a_csv,
    |app: TestApp| async move {
        let test = &test_name(&app, "dashboard_shows_figures_charts");
        let c = counter(&app).await;
        let second = location(&app, &c.program, "Counter 2").await;
        let mut codes = vec![c.code.clone()];
        for name in ["Grace Hopper", "Alan Turing"] {
            let r = app.enroll(&c.program, json!({"name": name})).await;
            let url = r.body["pass_url"].as_str().unwrap().to_string();
            codes.push(app.pass_barcode(&url).await);
        }
        let at = |i: usize| if i % 2 == 0 { &c.location } else { &second };
        for (i, code) in codes.iter().enumerate() {
            let body = json!({"code": code, "action": "purchase", "amount": "30.00",
                              "product_types": ["coffee"], "location_id": at(i)});
            scan(&app, &c.staff, &format!("buy-{i}"), body).await;
        }
        for (i, code) in codes.iter().take(2).enumerate() {
            let body = json!({"code": code, "action": "redeem", "reward_id": c.coffee,
                              "location_id": at(i)});
            scan(&app, &c.staff, &format!("coffee-{i}"), body).await;
        }
        let body = json!({"code": c.code, "action": "redeem", "reward_id": c.cake,
                          "location_id": c.location});
        scan(&app, &c.staff, "cake-0", body).await;
        let marketer = app.create_key("marketer", Some(&c.program)).await;
        let (_, quiet) = staff_key(&app, &c.program, "Till 2 – idle").await;
        // A campaign to the three members (who gave no address: their messages are skipped);
        // the dashboard shows the funnel the API reports.
        let campaign = app
            .post(
                &format!("/api/v1/programs/{}/campaigns", c.program),
                &app.admin,
                json!({"name": "Autumn invite", "channel": "email", "template": "card_invite"}),
            )
            .await;
        let campaign = campaign.body["id"].as_str().unwrap().to_string();
        let sent = app
            .post(
                &format!("/api/v1/campaigns/{campaign}/send"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(sent.status, 202, "{:?}", sent.body);
        app.state.outbox.drain().await.unwrap();
        let campaign_funnel = app
            .get(&format!("/api/v1/campaigns/{campaign}"), &app.admin)
            .await
            .body["funnel"]
            .clone();

        let downloads = tempfile::tempdir().unwrap();
        let launch = Launch {
            downloads: Some(downloads.path().to_path_buf()),
            ..Launch::default()
        };
        let Some(mut b) = Browser::launch(test, launch).await else {
            return;
        };
        b.desktop().await;
        b.goto(&app.url("/admin")).await;
        b.fill("#key", &marketer).await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait("#program[data-loaded='1']").await;
        b.wait("#location[data-loaded]").await;
        let locations = b
            .eval(
                "Array.from(document.querySelectorAll('#location option')).map(o => o.textContent)",
            )
            .await;
        assert_eq!(
            locations,
            json!(["All locations", "Counter 1", "Counter 2"])
        );
        let today = passwright::clock::system_now().date().to_string();
        b.select("#period", "day").await;
        b.eval(&format!(
            "document.getElementById('from').value = '{today}'; \
             document.getElementById('to').value = '{today}'"
        ))
        .await;
        b.click("#filters button[type=submit]").await;
        b.wait("#report[data-loaded]").await;

        let figure = |metric: &str| format!("#totals [data-metric='{metric}'] dd");
        assert_eq!(b.text(&figure("members_enrolled")).await, "3");
        assert_eq!(b.text(&figure("redemptions")).await, "3");
        // 120 credited to Ada up front and 60 per purchase; 50 per coffee and 60 for the cake.
        assert_eq!(b.text(&figure("points_earned")).await, "300");
        assert_eq!(b.text(&figure("points_redeemed")).await, "160");
        assert_eq!(b.text(&figure("points_redemption_rate")).await, "53.3%");

        // The CSV, fetched with the key and saved by the browser.
        b.click("#csv").await;
        b.wait_text("#status", "CSV downloaded").await;
        let csv = wait_for_download(downloads.path()).await;
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        assert!(
            header.contains("members_enrolled") && header.contains("redemptions"),
            "{header}"
        );
        let row = lines.next().unwrap_or_else(|| panic!("no rows: {csv}"));
        assert!(row.starts_with(&today), "{row}");

        // Four charts, inlined as SVG from the server, each with its title and data labels.
        let charts = b
            .eval(
                "Array.from(document.querySelectorAll('#charts figure')).map(f => ({ \
                   name: f.dataset.chart, state: f.dataset.state || null, \
                   svgs: f.querySelectorAll('svg[role=img]').length, \
                   title: (f.querySelector('svg > title') || {}).textContent || null, \
                   labels: Array.from(f.querySelectorAll('[data-label]')).map(n => n.dataset.label), \
                   values: Array.from(f.querySelectorAll('[data-value]')).map(n => n.dataset.value) }))",
            )
            .await;
        let charts = charts.as_array().unwrap();
        assert_eq!(charts.len(), 4, "{charts:?}");
        for chart in charts {
            assert_eq!(chart["state"], "loaded", "{chart}");
            assert_eq!(chart["svgs"], 1, "{chart}");
            assert!(
                chart["title"].as_str().is_some_and(|t| !t.is_empty()),
                "{chart}"
            );
        }
        let by_name = |name: &str| {
            charts
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("no {name} chart"))
                .clone()
        };
        let labels = |chart: &Value| -> Vec<String> {
            chart["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect()
        };
        let rewards = by_name("top_rewards");
        assert_eq!(
            labels(&rewards)[..2],
            ["Free coffee", "Slice of cake"],
            "{rewards}"
        );
        assert_eq!(
            rewards["values"].as_array().unwrap()[..2],
            [json!("2"), json!("1")],
            "{rewards}"
        );
        let places = labels(&by_name("locations"));
        assert!(
            places.contains(&"Counter 1".to_string()) && places.contains(&"Counter 2".to_string()),
            "{places:?}"
        );
        let funnel = by_name("funnel");
        assert_eq!(labels(&funnel).len(), 4, "{funnel}");
        assert_eq!(funnel["values"][0], "3", "{funnel}");
        assert_eq!(labels(&by_name("redemption_rate")), [today.as_str()]);
        // The visible text of the charts carries the values too.
        let text = b.text("#charts").await;
        assert!(
            text.contains("Free coffee") && text.contains("Counter 2"),
            "{text}"
        );
        b.screenshot("dashboard").await;

        // The campaigns: a row per campaign with its funnel, and the newest one's chart.
        b.wait("figure[data-campaign-chart][data-state]").await;
        let row = b
            .eval(&format!(
                "Array.from(document.querySelectorAll('#campaign-table tr[data-campaign=\"{campaign}\"] td[data-stage]')) \
                   .map(td => [td.dataset.stage, td.textContent])"
            ))
            .await;
        let expected: Vec<Value> = ["sent", "delivered", "clicked", "installed", "redeemed"]
            .iter()
            .map(|s| json!([s, campaign_funnel[s].to_string()]))
            .collect();
        assert_eq!(row, json!(expected));
        let chart = b
            .eval(
                "(() => { const f = document.querySelector('figure[data-campaign-chart]'); \
                   return { state: f.dataset.state, \
                   labels: Array.from(f.querySelectorAll('[data-label]')).map(n => n.dataset.label) }; })()",
            )
            .await;
        assert_eq!(chart["state"], "loaded", "{chart}");
        assert_eq!(
            chart["labels"],
            json!(["Sent", "Delivered", "Clicked", "Installed", "Redeemed"])
        );

        // Filters reach the report: one location, then a staff key that scanned nothing.
        assert_eq!(b.text(&figure("scans_accepted")).await, "6");
        b.select("#location", &second).await;
        b.click("#filters button[type=submit]").await;
        b.wait(&format!("#report[data-loaded*='location_id={second}']"))
            .await;
        assert_eq!(b.text(&figure("scans_accepted")).await, "2");
        b.select("#location", "").await;
        b.fill("#staff", &quiet).await;
        b.click("#filters button[type=submit]").await;
        b.wait(&format!("#report[data-loaded*='staff_key_id={quiet}']"))
            .await;
        assert_eq!(b.text(&figure("scans_accepted")).await, "0");

        let errors = b.errors().await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        b.close().await;
    }
);

/// The one finished download in `dir` (Chromium writes `.crdownload` until it is done).
async fn wait_for_download(dir: &Path) -> String {
    for _ in 0..100 {
        let done: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        if let [file] = done.as_slice() {
            return std::fs::read_to_string(file).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no CSV was downloaded into {}", dir.display());
}
