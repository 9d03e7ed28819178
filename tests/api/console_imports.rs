//! Importing members in the console: a 1,000-row file from another system (semicolons,
//! national phone numbers, an opening balance, tiers) with 5 bad rows is uploaded, mapped,
//! checked (the 5 reported with what is wrong and downloadable), imported with its progress
//! shown, and uploaded again without anyone imported twice.

use reqwest::header::LOCATION;
use serde_json::Value;

use crate::both_engines;
use crate::console::*;
use crate::console_designer::form_fields;
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// 1,000 rows; rows 101, 202, 303, 404 and 505 of the data (lines 102, 203, ...) are bad.
/// Without `tiers`, the Stufe column is empty but for row 303's bad balance.
pub fn thousand_rows(tiers: bool) -> String {
    let mut csv = String::from("Vorname;Nachname;E-Mail;Mobil;Kundennummer;Punkte;Stufe\n");
    for i in 1..=1000 {
        let line = match i {
            101 => format!("Bad;Email;not-an-email;;K-{i};10;\n"),
            202 => format!("Bad;Phone;p{i}@example.com;12;K-{i};10;\n"),
            303 if tiers => format!("Bad;Tier;p{i}@example.com;;K-{i};10;Platinum\n"),
            303 => format!("Bad;Balance;p{i}@example.com;;K-{i};lots;\n"),
            404 => "Bad;Duplicate;p1@example.com;;;;\n".to_string(),
            505 => format!(";;p{i}@example.com;;K-{i};5;\n"),
            _ => format!(
                "Member;{i};p{i}@example.com;0151 {:07};K-{i};{};{}\n",
                i,
                i % 300,
                if tiers && i % 100 == 7 { "Gold" } else { "" }
            ),
        };
        csv.push_str(&line);
    }
    csv
}

pub async fn upload_csv(app: &TestApp, who: &Session, program: &str, csv: &str) -> String {
    let r = browser()
        .post(app.url(&format!(
            "/console/programs/{program}/imports?name=old-system.csv"
        )))
        .header("Cookie", format!("pw_console={}", who.cookie))
        .header("X-CSRF-Token", &who.csrf)
        .header("Content-Type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    body["url"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, who: &Session, path: &str, fields: &[(String, String)]) -> Reply {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(app, &who.cookie, path, &pairs).await
}

async fn wait_done(app: &TestApp, who: &Session, url: &str) -> Value {
    for _ in 0..200 {
        let r = page(app, &who.cookie, &format!("{url}/progress")).await;
        let p: Value = serde_json::from_slice(&r.bytes).unwrap();
        if p["status"] == "done" {
            return p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the import did not finish");
}

both_engines!(
    a_thousand_members_come_in_and_nobody_twice,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let url = upload_csv(&app, &owner, &program, &thousand_rows(true)).await;

        // The columns are guessed from their German headings; the country is chosen.
        let html = text(&page(&app, &owner.cookie, &url).await);
        assert!(html.contains("1000 rows"), "{html}");
        let mut mapping = form_fields(&html, "mapping");
        let chosen =
            |m: &[(String, String)], n: &str| m.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(chosen(&mapping, "map.0"), "first_name");
        assert_eq!(chosen(&mapping, "map.5"), "balance");
        assert_eq!(chosen(&mapping, "map.6"), "tier");
        mapping.iter_mut().find(|(k, _)| k == "country").unwrap().1 = "49".into();
        let r = post(&app, &owner, &format!("{url}/check"), &mapping).await;
        assert_eq!(r.status, 303, "{}", text(&r));

        let html = text(&page(&app, &owner.cookie, &url).await);
        assert!(html.contains("<strong>995</strong> members can be imported. <strong>5</strong> rows have a problem"), "{html}");
        for words in [
            "\"not-an-email\" is not an email address.",
            "\"12\" is not a phone number.",
            "There is no tier \"Platinum\"; the tiers are Bronze, Silver, Gold.",
            "p1@example.com is also on row 2.",
            "The name is missing.",
        ] {
            assert!(html.contains(&words.replace('"', "&quot;")), "{words}");
        }
        let report = page(&app, &owner.cookie, &format!("{url}/problems.csv")).await;
        let report = text(&report);
        assert_eq!(report.lines().count(), 6, "{report}");
        assert!(
            report.lines().nth(1).unwrap().starts_with("102,"),
            "{report}"
        );
        assert!(report.contains("not-an-email"), "the row as it was");

        let run = form_fields(&html, "run");
        let r = post(&app, &owner, &format!("{url}/run"), &run).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.headers[LOCATION], url.as_str());
        let done = wait_done(&app, &owner, &url).await;
        assert_eq!(
            (done["imported"].as_i64(), done["good"].as_i64()),
            (Some(995), Some(995))
        );
        let html = text(&page(&app, &owner.cookie, &url).await);
        assert!(
            html.contains("Imported 995 members. 5 rows were left out."),
            "{html}"
        );

        // Balances, tiers and phones as a cashier would find them.
        let found = app
            .get(
                &format!("/api/v1/programs/{program}/members?q=%2B491510000007"),
                &app.admin,
            )
            .await
            .body;
        let member = &found["members"][0];
        assert_eq!(member["name"], "Member 7");
        assert_eq!(member["balance"], 7);
        assert_eq!(member["tier"], "Gold");
        assert_eq!(member["lifetime_points"], 500, "Gold's threshold");
        let ledger = app
            .get(
                &format!("/api/v1/members/{}/ledger", member["id"].as_str().unwrap()),
                &app.admin,
            )
            .await
            .body;
        assert_eq!(ledger["entries"][0]["reason"], "Opening balance (import)");
        assert_eq!(ledger["entries"][0]["amount"], 7);

        // The same file again: nobody new.
        let again = upload_csv(&app, &owner, &program, &thousand_rows(true)).await;
        let html = text(&page(&app, &owner.cookie, &again).await);
        assert!(html.contains("This file was uploaded before"), "{html}");
        let mut mapping = form_fields(&html, "mapping");
        mapping.iter_mut().find(|(k, _)| k == "country").unwrap().1 = "49".into();
        post(&app, &owner, &format!("{again}/check"), &mapping).await;
        let html = text(&page(&app, &owner.cookie, &again).await);
        assert!(
            html.contains("<strong>0</strong> members can be imported."),
            "{html}"
        );
        assert!(html.contains("is a member already; the row is left out."));
        let r = post(
            &app,
            &owner,
            &format!("{again}/run"),
            &[("csrf".into(), owner.csrf.clone())],
        )
        .await;
        assert_eq!(r.status, 303, "{}", text(&r));
        wait_done(&app, &owner, &again).await;
        let total: i64 = member_count(&app, &program).await;
        assert_eq!(total, 995);

        // A mapping without names is refused in words, the choices kept.
        let third = upload_csv(&app, &owner, &program, "E-Mail\nz@example.com\n").await;
        let r = post(
            &app,
            &owner,
            &format!("{third}/check"),
            &[
                ("csrf".into(), owner.csrf.clone()),
                ("map.0".into(), "email".into()),
            ],
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(
            text(&r).contains("Choose the column with the members&#x27; names"),
            "{}",
            text(&r)
        );

        // Not for staff, and not without the session's token.
        add_user(&app, "staff@beans.example", Role::Staff, None).await;
        let staff = sign_in(&app, "staff@beans.example").await;
        assert_eq!(page(&app, &staff.cookie, &url).await.status, 403);
        let r = browser()
            .post(app.url(&format!("/console/programs/{program}/imports")))
            .header("Cookie", format!("pw_console={}", owner.cookie))
            .header("Content-Type", "text/csv")
            .body("name\nMallory\n")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
);

/// Members of the program, counted page by page through the API.
async fn member_count(app: &TestApp, program: &str) -> i64 {
    let mut after: Option<String> = None;
    let mut n = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/programs/{program}/members?limit=500&cursor={a}"),
            None => format!("/api/v1/programs/{program}/members?limit=500"),
        };
        let page = app.get(&path, &app.admin).await.body;
        n += page["members"].as_array().unwrap().len() as i64;
        match page["next_cursor"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return n,
        }
    }
}
