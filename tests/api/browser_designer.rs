//! The card designer in headless Chromium, as a marketer uses it on a 390 px phone: start a
//! program, watch the preview follow the colour and the text typed (a `<script>` and Arabic
//! shown as typed, nothing runs), upload one JPEG logo and see it on the card, get a refusal in
//! words for a strip too small, look at the Android card, save, send a sample to my phone and
//! open its page; then the designer at desktop size. No step scrolls sideways.

use image::{ImageEncoder, Rgb, RgbImage};
use serde_json::json;

use crate::both_engines;
use crate::browser::test_name;
use crate::chromium::{Browser, Launch};
use crate::console::{add_user, PASSWORD};
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// What sticks out to the right, when something does.
const WIDEST: &str = "[...document.querySelectorAll('*')].filter(n => n.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(n => n.tagName + '#' + n.id + ' ' + Math.round(n.getBoundingClientRect().right)).slice(0, 8).join(' | ')";

const TYPED: &str = "<script>window.pwned = 1</script> مقهى";

fn jpeg(path: &std::path::Path, width: u32, height: u32) {
    let image = RgbImage::from_fn(width, height, |x, _| {
        if x < width / 3 {
            Rgb([200, 40, 40])
        } else {
            Rgb([250, 240, 220])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    std::fs::write(path, out).unwrap();
}

async fn app_program(app: &TestApp) -> String {
    let programs = app.get("/api/v1/programs", &app.admin).await.body;
    programs["programs"][0]["id"].as_str().unwrap().to_string()
}

both_engines!(
    a_marketer_designs_a_card_on_a_phone,
    |app: TestApp| async move {
        let test = &test_name(&app, "a_marketer_designs_a_card_on_a_phone");
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let files = tempfile::tempdir().unwrap();
        let logo = files.path().join("logo.jpg");
        jpeg(&logo, 1200, 400);
        let small = files.path().join("strip.jpg");
        jpeg(&small, 600, 200);
        let Some(mut b) = Browser::launch(test, Launch::default()).await else {
            return;
        };
        b.phone().await;
        b.goto(&app.url("/console/sign-in")).await;
        b.fill("#email", "owner@beans.example").await;
        b.fill("#password", PASSWORD).await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait_text("main h1", "Hello").await;
        b.click("a[href='/console/programs/new']").await;
        b.wait("#new-program").await;
        b.fill("#name", "Coffee Club").await;
        b.fill("#organization", "Bean There").await;
        b.click("#new-program button[type=submit]").await;
        b.wait_text("main > p.message.ok", "The program is ready")
            .await;
        b.wait("#apple-front .top").await;
        let sideways =
            "document.documentElement.scrollWidth > document.documentElement.clientWidth";
        assert_eq!(
            b.eval(sideways).await,
            false,
            "designer at 390 px: {}",
            b.eval(WIDEST).await
        );
        assert_eq!(
            b.eval(
                "document.querySelector('#apple-front img.logo').src.startsWith('data:image/png')"
            )
            .await,
            true,
            "the drawn logo"
        );
        b.screenshot("designer-new").await;

        // The preview follows the form.
        b.fill("#background", "#7a1f2b").await;
        b.wait_for(
            "document.getElementById('apple-front').style.backgroundColor === 'rgb(122, 31, 43)'",
        )
        .await;
        b.fill("#logo_text", TYPED).await;
        assert_eq!(b.wait_text("#apple-front .logo-text", "مقهى").await, TYPED);
        assert_eq!(b.eval("window.pwned === undefined").await, true);
        b.select("#place-name", "header").await;
        b.wait_text("#apple-front .header [data-key='name'] .v", "Alex Sample")
            .await;

        // One JPEG logo, and it is on the card.
        b.upload("#file-logo", &logo).await;
        assert!(b.wait_text("#state-logo", "Done").await.contains("450×150"));
        b.wait_for("document.querySelector('#apple-front img.logo').getAttribute('src').startsWith('/images/')")
        .await;
        let loaded = "(() => { const i = document.querySelector('#apple-front img.logo'); return i.complete && i.naturalWidth === 300; })()";
        b.wait_for(loaded).await;
        // A strip too small: refused in words, nothing else lost.
        b.upload("#file-strip", &small).await;
        let refusal = b.wait_text("#state-strip", "too small").await;
        assert!(
            refusal.contains("600x200") && refusal.contains("1125x369"),
            "{refusal}"
        );
        assert_eq!(
            b.eval("document.getElementById('background').value").await,
            "#7a1f2b"
        );
        b.screenshot("designer-front").await;

        b.click("[data-show='back']").await;
        b.wait("#apple-back dl").await;
        b.click("[data-show='google']").await;
        assert_eq!(b.wait("#google-card .g-title").await, "Coffee Club");
        b.screenshot("designer-google").await;
        assert_eq!(b.eval(sideways).await, false, "after the preview filled in");

        b.click("#design button[type=submit]").await;
        b.wait_text("main > p.message.ok", "Saved.").await;
        assert_eq!(
            b.eval("document.getElementById('logo_text').value").await,
            TYPED
        );

        // A sample to my phone: by email, with the signed-in address offered.
        assert_eq!(
            b.eval("document.getElementById('sample-to').value").await,
            "owner@beans.example"
        );
        b.click("#sample-send button[type=submit]").await;
        b.wait_text("main > p.message.ok", "on its way by email")
            .await;
        app.state.outbox.drain().await.unwrap();
        let mail = std::fs::read_dir(app.data_dir.path().join("mail"))
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with("sample-"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .expect("the sample email");
        let unfolded = mail.replace("=\r\n", "").replace("=\n", "");
        let at = unfolded.find("/sample/prg_").expect("a sample link");
        let link: String = unfolded[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_'))
            .collect();
        b.goto(&app.url(link.trim_end_matches('.'))).await;
        b.wait_text("main h1", "A sample of the Coffee Club card")
            .await;
        b.wait("#apple-wallet").await;
        assert_eq!(b.eval(sideways).await, false, "the sample page at 390 px");
        b.screenshot("sample-page").await;
        b.goto(&app.url(&format!("/console/programs/{}", app_program(&app).await)))
            .await;

        b.desktop().await;
        b.wait("#apple-front .top").await;
        assert_eq!(b.eval(sideways).await, false, "designer on a desktop");
        b.screenshot("designer-desktop").await;
        assert_eq!(b.errors().await, Vec::<String>::new());
        b.close().await;

        // What was saved is what the card shows.
        let programs = app.get("/api/v1/programs", &app.admin).await.body;
        let program = &programs["programs"][0];
        assert_eq!(program["design"]["logo_text"], TYPED);
        assert_eq!(program["design"]["colors"]["background"], "#7a1f2b");
        assert_eq!(
            program["design"]["layout"]["header"],
            json!(["tier", "name"])
        );
    }
);
