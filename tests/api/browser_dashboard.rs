//! The console's reports in headless Chromium, signed in as a marketer of one program: the report's figures, a CSV download, the
//! charts inlined as SVG from the server, the campaigns' funnels, and the filters reaching the
//! report.

use std::path::Path;

use serde_json::{json, Value};

use crate::both_engines;
use crate::browser::{counter, location, staff_key, test_name};
use crate::chromium::{Browser, Launch};
use crate::console::{add_user, PASSWORD};
use crate::helpers::*;
use passwright::domain::api_key::Role;

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
        add_user(&app, "mo@beans.example", Role::Marketer, Some(&c.program)).await;
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
        // The old address leads to the console's reports, through the sign-in.
        b.goto(&app.url("/admin")).await;
        b.wait("#sign-in-form").await;
        b.fill("#email", "mo@beans.example").await;
        b.fill("#password", PASSWORD).await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait("#program[data-loaded='1']").await;
        assert_eq!(b.eval("location.pathname").await, json!("/console/reports"));
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

        // The CSV, fetched with the session and saved by the browser.
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
