//! The marketer's first hour, end to end in headless Chromium on a 390 px phone, from an empty
//! database: the owner signs in, starts a program, uploads one JPEG logo and sees it in the
//! preview, changes the colour and saves; imports a 1,000-row file with 5 bad rows (reported,
//! nothing else lost); finds a member by the phone number as a customer says it; adds points
//! with a reason; and the pass Wallet fetches over the PassKit web service shows the new
//! balance. No page scrolls sideways on the way.

use image::{ImageEncoder, Rgb, RgbImage};
use serde_json::Value;

use crate::both_engines;
use crate::browser::test_name;
use crate::chromium::{Browser, Launch};
use crate::console::{add_user, PASSWORD};
use crate::console_imports::thousand_rows;
use crate::device::{install, pass_json, push_token, Device};
use crate::helpers::*;
use passwright::domain::api_key::Role;

const SIDEWAYS: &str =
    "document.documentElement.scrollWidth > document.documentElement.clientWidth";

async fn no_sideways(b: &mut Browser, step: &str) {
    assert_eq!(b.eval(SIDEWAYS).await, false, "{step} scrolls sideways");
}

both_engines!(
    a_new_owner_gets_from_nothing_to_an_updated_card,
    |app: TestApp| async move {
        let test = &test_name(&app, "a_new_owner_gets_from_nothing_to_an_updated_card");
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let files = tempfile::tempdir().unwrap();
        let logo = files.path().join("logo.jpg");
        let picture = RgbImage::from_fn(900, 300, |x, y| Rgb([(x / 4) as u8, (y / 2) as u8, 90]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .write_image(picture.as_raw(), 900, 300, image::ExtendedColorType::Rgb8)
            .unwrap();
        std::fs::write(&logo, jpeg).unwrap();
        let members_csv = files.path().join("members.csv");
        std::fs::write(&members_csv, thousand_rows(false)).unwrap();
        let Some(mut b) = Browser::launch(test, Launch::default()).await else {
            return;
        };
        b.phone().await;

        b.goto(&app.url("/console")).await;
        b.wait("#sign-in-form").await;
        b.fill("#email", "owner@beans.example").await;
        b.fill("#password", PASSWORD).await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait_text("main h1", "Hello").await;
        assert!(b.text("main").await.contains("There are no programs yet."));
        b.click("a[href='/console/programs/new']").await;
        b.fill("#name", "Coffee Club").await;
        b.fill("#organization", "Bean There").await;
        b.click("#new-program button[type=submit]").await;
        b.wait("#apple-front .top").await;
        no_sideways(&mut b, "the designer").await;

        // One JPEG logo, and the preview shows it; a new colour, and the preview follows.
        b.upload("#file-logo", &logo).await;
        b.wait_text("#state-logo", "Done").await;
        b.wait_for("(() => { const i = document.querySelector('#apple-front img.logo'); return i.getAttribute('src').startsWith('/images/') && i.complete && i.naturalWidth > 0; })()").await;
        b.fill("#background", "#0b4f3c").await;
        b.wait_for(
            "document.getElementById('apple-front').style.backgroundColor === 'rgb(11, 79, 60)'",
        )
        .await;
        b.click("#design button[type=submit]").await;
        b.wait_text("main > p.message.ok", "Saved.").await;
        b.screenshot("designed").await;

        // Import 1,000 rows, 5 of them bad.
        b.click("nav a[href='/console/members']").await;
        b.click("a[href$='/import']").await;
        b.upload("#file", &members_csv).await;
        b.click("#upload button[type=submit]").await;
        b.wait("#mapping").await;
        no_sideways(&mut b, "the column mapping").await;
        b.select("#country", "49").await;
        b.click("#mapping button[type=submit]").await;
        let summary = b.wait("#check-summary").await;
        assert_eq!(
            summary,
            "995 members can be imported. 5 rows have a problem and will be left out."
        );
        assert_eq!(
            b.eval("document.querySelectorAll('table.problems tbody tr').length")
                .await,
            5
        );
        no_sideways(&mut b, "the check").await;
        b.screenshot("import-checked").await;
        b.click("#run button[type=submit]").await;
        assert_eq!(
            b.wait_text("#done-summary", "Imported").await,
            "Imported 995 members. 5 rows were left out."
        );

        // The customer at the counter says their number nationally.
        b.click("a.button[href^='/console/members']").await;
        b.fill("#q", "0151 0000007").await;
        b.press("Enter").await;
        // The list before the search shows Member 7 too: wait for the search's own page.
        b.wait_for("location.search.includes('q=0151')").await;
        b.wait_text("main", "Member 7").await;
        no_sideways(&mut b, "the member list").await;
        b.click("a[href^='/console/members/mem_']").await;
        b.wait("#adjust").await;
        assert_eq!(b.text("[data-figure='balance'] dd").await, "7");
        b.fill("#points", "50").await;
        b.fill("#reason", "Welcome to the new program").await;
        b.click("#adjust button[type=submit]").await;
        b.wait_text("[data-figure='balance'] dd", "57").await;
        no_sideways(&mut b, "the member page").await;
        b.screenshot("adjusted").await;
        assert_eq!(b.errors().await, Vec::<String>::new());
        b.close().await;

        // The card on the phone: Wallet fetches it from the web service and sees 57.
        let programs = app.get("/api/v1/programs", &app.admin).await.body;
        let program = programs["programs"][0]["id"].as_str().unwrap().to_owned();
        let found = app
            .get(
                &format!("/api/v1/programs/{program}/members?q=%2B491510000007"),
                &app.admin,
            )
            .await
            .body;
        let member = found["members"][0]["id"].as_str().unwrap().to_owned();
        let pass = install(&app, &member).await;
        let phone = Device::new("journey-iphone", &push_token(77));
        assert_eq!(phone.register(&pass).await.as_u16(), 201);
        let fetched = phone.fetch(&pass, None).await;
        assert_eq!(fetched.status, 200);
        let signed: Value = pass_json(&fetched.bytes);
        let points = signed["storeCard"]["primaryFields"][0].clone();
        assert_eq!(
            (points["key"].as_str(), points["value"].as_i64()),
            (Some("points"), Some(57))
        );
        assert_eq!(signed["backgroundColor"], "rgb(11, 79, 60)");
        crate::passes::assert_valid_pkpass(&fetched.bytes);
    }
);
