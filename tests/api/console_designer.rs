//! The card designer: an owner starts a program from the console, changes its design in the
//! form the page shows, sees the preview drawn from what would be signed, and saves; the card
//! on a phone then shows the change. What a person types comes back intact (`<script>`, RTL),
//! problems are refused in words with everything kept, and only owners and marketers of the
//! program get in.

use reqwest::header::LOCATION;
use serde_json::Value;

use crate::both_engines;
use crate::console::*;
use crate::device::{install, pass_json, push_token, Device};
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// `&amp;` and friends back to characters, as a browser reads an attribute.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn has(tag: &str, flag: &str) -> bool {
    tag.split(|c: char| c.is_whitespace() || c == '>')
        .any(|w| w == flag)
}

/// What a browser would send for the form `id` in `html`: its inputs, checked boxes and
/// radios, selected options and text areas, in document order.
pub fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("<form id=\"{id}\"")).expect("the form");
    let end = html[start..].find("</form>").unwrap() + start;
    let body = &html[start..end];
    let mut fields = Vec::new();
    let mut at = 0;
    while let Some(open) = body[at..].find('<') {
        let open = at + open;
        let close = open + body[open..].find('>').unwrap();
        let tag = &body[open..=close];
        at = close + 1;
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        if tag.starts_with("<input") {
            let kind = attribute(tag, "type").unwrap_or_default();
            if (kind == "checkbox" || kind == "radio") && !has(tag, "checked") {
                continue;
            }
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        } else if tag.starts_with("<textarea") {
            let end = body[at..].find("</textarea>").unwrap() + at;
            fields.push((name, unescape(&body[at..end])));
        } else if tag.starts_with("<select") {
            let end = body[at..].find("</select>").unwrap() + at;
            let options = &body[at..end];
            let chosen = options
                .split("<option")
                .skip(1)
                .find(|o| has(o, "selected"))
                .or_else(|| options.split("<option").nth(1))
                .and_then(|o| attribute(o, "value"))
                .unwrap_or_default();
            fields.push((name, chosen));
        }
    }
    fields
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

async fn post(app: &TestApp, who: &Session, path: &str, fields: &[(String, String)]) -> Reply {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(app, &who.cookie, path, &pairs).await
}

/// Starts a program through the console's form; its id.
async fn start(app: &TestApp, who: &Session, name: &str, brand: &str) -> String {
    let fields = [
        ("csrf", who.csrf.as_str()),
        ("name", name),
        ("organization", brand),
    ];
    let r = form(app, &who.cookie, "/console/programs", &fields).await;
    assert_eq!(r.status, 303, "{}", text(&r));
    let to = r.headers[LOCATION].to_str().unwrap().to_owned();
    assert!(to.ends_with("?notice=created"), "{to}");
    to.trim_start_matches("/console/programs/")
        .trim_end_matches("?notice=created")
        .to_owned()
}

both_engines!(
    an_owner_designs_a_card_and_the_phone_gets_it,
    |app: TestApp| async move {
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let home = text(&page(&app, &owner.cookie, "/console").await);
        assert!(home.contains("href=\"/console/programs/new\""), "{home}");
        let program = start(&app, &owner, "Coffee Club", "Bean There").await;
        let member = app.member(&program, "Ada").await;
        let pass = install(&app, &member).await;
        let mut phone = Device::new("designer-iphone", &push_token(41));
        assert_eq!(phone.register(&pass).await.as_u16(), 201);
        let (status, _) = phone.updated(&pass.web_service_url, &pass.pass_type).await;
        assert_eq!(status, 200);

        let designer = format!("/console/programs/{program}");
        let shown = text(&page(&app, &owner.cookie, &designer).await);
        assert!(
            shown.contains("The program is ready") || shown.contains("Card design"),
            "{shown}"
        );
        assert!(shown.contains("Saving updates the <strong>1</strong> card already on phones (1 in Apple Wallet, 0 in Google Wallet)"), "{shown}");

        let mut fields = form_fields(&shown, "design");
        let hostile = "<script>alert(1)</script> مقهى";
        set(&mut fields, "background", "#1e3a5f");
        set(&mut fields, "logo_text", hostile);
        set(&mut fields, "label.points", "Beans");
        set(&mut fields, "place.name", "header");
        set(&mut fields, "barcode", "pdf417");
        set(
            &mut fields,
            "terms",
            "Beans never expire.\nOne card per person.",
        );
        set(&mut fields, "back_label.0", "Website");
        set(&mut fields, "back_value.0", "https://beans.example");

        // The preview is what would be signed.
        let r = post(&app, &owner, &format!("{designer}/preview"), &fields).await;
        assert_eq!(r.status, 200, "{}", text(&r));
        let preview: Value = serde_json::from_slice(&r.bytes).unwrap();
        assert_eq!(preview["problems"], serde_json::json!([]));
        assert_eq!(preview["pass"]["backgroundColor"], "rgb(30, 58, 95)");
        assert_eq!(preview["pass"]["logoText"], hostile);
        assert_eq!(
            preview["pass"]["barcodes"][0]["format"],
            "PKBarcodeFormatPDF417"
        );
        assert_eq!(preview["google_object"]["barcode"]["type"], "PDF_417");
        assert_eq!(preview["google_class"]["hexBackgroundColor"], "#1e3a5f");
        assert!(preview["images"]["logo"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,"));
        let preview_pass = preview["pass"].clone();

        let r = post(&app, &owner, &designer, &fields).await;
        assert_eq!(r.status, 303, "{}", text(&r));
        assert_eq!(
            r.headers[LOCATION],
            format!("{designer}?notice=saved").as_str()
        );
        // The phone is told, and the pass it fetches is the preview's, member for member.
        let (status, serials) = phone.updated(&pass.web_service_url, &pass.pass_type).await;
        assert_eq!(
            (status.as_u16(), serials),
            (200, vec![pass.serial.clone()]),
            "the device hears of the change"
        );
        let fetched = phone.fetch(&pass, None).await;
        let signed = pass_json(&fetched.bytes);
        for key in [
            "backgroundColor",
            "foregroundColor",
            "labelColor",
            "logoText",
            "organizationName",
            "description",
        ] {
            assert_eq!(signed[key], preview_pass[key], "{key}");
        }
        let labels = |p: &Value, row: &str| -> Vec<(Value, Value)> {
            p["storeCard"][row]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["key"].clone(), f["label"].clone()))
                .collect()
        };
        for row in [
            "headerFields",
            "primaryFields",
            "secondaryFields",
            "auxiliaryFields",
            "backFields",
        ] {
            assert_eq!(labels(&signed, row), labels(&preview_pass, row), "{row}");
        }
        assert_eq!(signed["barcodes"][0]["format"], "PKBarcodeFormatPDF417");
        assert_eq!(signed["storeCard"]["primaryFields"][0]["label"], "Beans");

        // Typed text comes back intact and inert in the page.
        let again = text(&page(&app, &owner.cookie, &format!("{designer}?notice=saved")).await);
        assert!(again.contains("Saved. Cards on phones update within a minute."));
        assert!(!again.contains("<script>alert(1)"), "escaped");
        let fields = form_fields(&again, "design");
        let value = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value("logo_text").as_deref(), Some(hostile));
        assert_eq!(
            value("terms").as_deref(),
            Some("Beans never expire.\nOne card per person.")
        );
        assert_eq!(value("place.name").as_deref(), Some("header"));

        // The audit log has it, with before and after.
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(audit.contains("Changed a card design"), "{audit}");

        // A sample pass of the saved design downloads.
        let r = page(&app, &owner.cookie, &format!("{designer}/sample.pkpass")).await;
        assert_eq!(r.status, 200);
        let sample = crate::passes::assert_valid_pkpass(&r.bytes);
        assert_eq!(sample["logoText"], hostile);
        assert_ne!(sample["serialNumber"], signed["serialNumber"]);
    }
);

both_engines!(
    designs_that_cannot_work_are_refused_in_words,
    |app: TestApp| async move {
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let program = start(&app, &owner, "Coffee Club", "Bean There").await;
        let designer = format!("/console/programs/{program}");
        let before = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await
            .body;

        let mut fields = form_fields(&text(&page(&app, &owner.cookie, &designer).await), "design");
        set(&mut fields, "name", "Coffee Club Deluxe");
        set(&mut fields, "foreground", "not a colour");
        set(&mut fields, "place.tier", "primary");
        set(&mut fields, "message.points", "Points changed");
        let r = post(&app, &owner, &designer, &fields).await;
        assert_eq!(r.status, 422);
        let html = text(&r);
        assert!(html.contains("Nothing was saved yet"), "{html}");
        assert!(html.contains("is not a colour; pick one"), "{html}");
        assert!(
            html.contains("Only one field can be the large one over the strip."),
            "{html}"
        );
        let kept = form_fields(&html, "design");
        let value = |name: &str| kept.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(value("name").as_deref(), Some("Coffee Club Deluxe"));
        assert_eq!(value("foreground").as_deref(), Some("not a colour"));
        assert_eq!(value("message.points").as_deref(), Some("Points changed"));
        let after = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await
            .body;
        assert_eq!(
            before["design_version"], after["design_version"],
            "nothing saved"
        );

        // The preview says the same, without failing.
        let r = post(&app, &owner, &format!("{designer}/preview"), &fields).await;
        let preview: Value = serde_json::from_slice(&r.bytes).unwrap();
        assert_eq!(preview["pass"], Value::Null);
        assert!(preview["problems"].as_array().unwrap().len() >= 2);

        // Low contrast is a warning, not a refusal.
        let mut fields = form_fields(&text(&page(&app, &owner.cookie, &designer).await), "design");
        set(&mut fields, "background", "#ffffff");
        set(&mut fields, "foreground", "#777777");
        let r = post(&app, &owner, &format!("{designer}/preview"), &fields).await;
        let preview: Value = serde_json::from_slice(&r.bytes).unwrap();
        assert!(
            preview["warnings"][0].as_str().unwrap().contains("4.48:1"),
            "{preview}"
        );
        assert_eq!(post(&app, &owner, &designer, &fields).await.status, 303);
        let page_now = text(&page(&app, &owner.cookie, &designer).await);
        assert!(page_now.contains("has a contrast of 4.48:1"), "{page_now}");

        // A form without the session's token is refused, and changes nothing.
        set(&mut fields, "csrf", "forged");
        set(&mut fields, "name", "Hijacked");
        assert_eq!(post(&app, &owner, &designer, &fields).await.status, 403);
        let program_now = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await
            .body;
        assert_eq!(program_now["name"], "Coffee Club");
    }
);

both_engines!(
    only_owners_and_marketers_of_the_program_design_it,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let other = app.sample_program().await;
        add_user(&app, "staff@beans.example", Role::Staff, None).await;
        add_user(&app, "marketer@beans.example", Role::Marketer, Some(&other)).await;
        let staff = sign_in(&app, "staff@beans.example").await;
        let marketer = sign_in(&app, "marketer@beans.example").await;
        let designer = format!("/console/programs/{program}");
        assert_eq!(page(&app, &staff.cookie, &designer).await.status, 403);
        assert_eq!(
            page(&app, &staff.cookie, "/console/programs/new")
                .await
                .status,
            403
        );
        assert_eq!(page(&app, &marketer.cookie, &designer).await.status, 404);
        assert_eq!(
            page(&app, &marketer.cookie, &format!("{designer}/sample.pkpass"))
                .await
                .status,
            404
        );
        assert_eq!(
            page(
                &app,
                &marketer.cookie,
                &format!("/console/programs/{other}")
            )
            .await
            .status,
            200
        );
        // Limited to one program, so no new ones.
        assert_eq!(
            page(&app, &marketer.cookie, "/console/programs/new")
                .await
                .status,
            403
        );
        let fields = [
            ("csrf", marketer.csrf.as_str()),
            ("name", "Side project"),
            ("organization", "X"),
        ];
        assert_eq!(
            form(&app, &marketer.cookie, "/console/programs", &fields)
                .await
                .status,
            403
        );
        // Not signed in: to the sign-in page.
        let r = browser().get(app.url(&designer)).send().await.unwrap();
        assert_eq!(r.status(), 303);
    }
);
