//! Signed passes: the bundle is complete and verifies, downloads are unguessable and cached
//! by version, images and changes show up.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::Command;
use std::sync::atomic::Ordering;

use crate::both_engines;
use crate::helpers::*;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

/// Every file of a .pkpass, by name.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        assert!(f.is_file(), "no directory entries: {}", f.name());
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        files.insert(f.name().to_string(), content);
    }
    files
}

/// What Apple requires of a signed storeCard (../shared/spec/apple-pkpass.md), checked on the bytes.
pub fn assert_valid_pkpass(bytes: &[u8]) -> Value {
    let files = unzip(bytes);
    for required in [
        "pass.json",
        "manifest.json",
        "signature",
        "icon.png",
        "icon@2x.png",
        "icon@3x.png",
        "logo.png",
    ] {
        assert!(files.contains_key(required), "missing {required}");
    }
    // The manifest lists exactly the other files, each with its SHA-1.
    let manifest: BTreeMap<String, String> =
        serde_json::from_slice(&files["manifest.json"]).unwrap();
    let listed: BTreeSet<&String> = manifest.keys().collect();
    let present: BTreeSet<&String> = files
        .keys()
        .filter(|k| *k != "manifest.json" && *k != "signature")
        .collect();
    assert_eq!(listed, present);
    for (name, hash) in &manifest {
        assert_eq!(&hex::encode(Sha1::digest(&files[name])), hash, "{name}");
    }
    // The real openssl CLI verifies the detached signature against the test root.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.json"), &files["manifest.json"]).unwrap();
    std::fs::write(dir.path().join("signature"), &files["signature"]).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "signature",
            "-content",
            "manifest.json",
            "-CAfile",
        ])
        .arg(pki().root_pem())
        .args(["-purpose", "any", "-out", "/dev/null"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = Command::new("openssl")
        .args([
            "cms",
            "-cmsout",
            "-inform",
            "DER",
            "-in",
            "signature",
            "-print",
            "-noout",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&printed.stdout).contains("signingTime"));

    let pass: Value = serde_json::from_slice(&files["pass.json"]).unwrap();
    assert_eq!(pass["formatVersion"], 1);
    for key in [
        "passTypeIdentifier",
        "serialNumber",
        "teamIdentifier",
        "organizationName",
        "description",
        "webServiceURL",
        "authenticationToken",
    ] {
        assert!(pass[key].is_string(), "{key} must be a string");
    }
    assert!(pass["passTypeIdentifier"]
        .as_str()
        .unwrap()
        .starts_with("pass."));
    assert_eq!(pass["teamIdentifier"].as_str().unwrap().len(), 10);
    assert!(pass["authenticationToken"].as_str().unwrap().len() >= 16);
    for key in ["backgroundColor", "foregroundColor", "labelColor"] {
        let c = pass[key].as_str().unwrap();
        assert!(c.starts_with("rgb(") && c.ends_with(')'), "{key}: {c}");
    }
    let barcode = &pass["barcodes"][0];
    // The formats the designer offers.
    let format = barcode["format"].as_str().unwrap();
    assert!(
        [
            "PKBarcodeFormatQR",
            "PKBarcodeFormatPDF417",
            "PKBarcodeFormatAztec"
        ]
        .contains(&format),
        "{format}"
    );
    assert_eq!(barcode["messageEncoding"], "iso-8859-1");
    assert!(barcode["message"].as_str().unwrap().starts_with("PW1-"));
    assert!(barcode["altText"].is_string());
    let card = pass["storeCard"].as_object().expect("storeCard style");
    for other in ["boardingPass", "coupon", "eventTicket", "generic"] {
        assert!(pass.get(other).is_none());
    }
    let mut keys = BTreeSet::new();
    for (group, fields) in card {
        for f in fields.as_array().unwrap() {
            let key = f["key"].as_str().unwrap();
            assert!(keys.insert(key.to_string()), "field key {key} used twice");
            assert!(
                f.get("value")
                    .is_some_and(|v| v.is_string() || v.is_number()),
                "{key} value"
            );
            if let Some(m) = f.get("changeMessage") {
                assert!(m.as_str().unwrap().contains("%@"));
            }
            if group == "primaryFields" || group == "backFields" {
                assert!(f.get("textAlignment").is_none());
            }
        }
    }
    assert!(
        card["secondaryFields"].as_array().unwrap().len()
            + card["auxiliaryFields"].as_array().unwrap().len()
            <= 4
    );
    pass
}

pub fn field<'a>(pass: &'a Value, key: &str) -> &'a Value {
    for group in pass["storeCard"].as_object().unwrap().values() {
        if let Some(f) = group.as_array().unwrap().iter().find(|f| f["key"] == key) {
            return &f["value"];
        }
    }
    panic!("no field {key}");
}

both_engines!(
    pass_download_verifies_caches_and_updates,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let r = app
            .enroll(
                &program,
                json!({"name": "Ada Lovelace", "external_id": "CRM-1"}),
            )
            .await;
        let member = r.body["id"].as_str().unwrap().to_string();
        let pass_url = r.body["pass_url"].as_str().unwrap().to_string();
        assert!(pass_url.starts_with(&app.address) && pass_url.ends_with(".pkpass"));
        app.earn(&member, &app.admin, "p1", json!({"amount": 120}))
            .await;

        let get = |url: String, ims: Option<String>| {
            let mut req = app.client.get(url);
            if let Some(v) = ims {
                req = req.header("If-Modified-Since", v);
            }
            async move { reply(req.send().await.unwrap()).await }
        };
        let signed = || app.state.cards.counters.signed.load(Ordering::Relaxed);
        let r = get(pass_url.clone(), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["content-type"], "application/vnd.apple.pkpass");
        assert!(r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Test Beans.pkpass"));
        let last_modified = r.headers["last-modified"].to_str().unwrap().to_string();
        let pass = assert_valid_pkpass(&r.bytes);
        assert_eq!(field(&pass, "points"), 120);
        assert_eq!(field(&pass, "tier"), "Silver");
        assert_eq!(field(&pass, "name"), "Ada Lovelace");
        assert_eq!(pass["barcodes"][0]["altText"], "CRM-1");
        assert_eq!(pass["webServiceURL"], format!("{}/wallet", app.address));
        assert!(unzip(&r.bytes).contains_key("de.lproj/pass.strings"));
        let token = pass["authenticationToken"].clone();
        let barcode = pass["barcodes"][0]["message"].as_str().unwrap().to_string();
        let claim = app.state.cards.keys().verify_card_token(&barcode).unwrap();
        assert_eq!(claim.serial.as_str(), pass["serialNumber"]);

        // Unchanged: served from the cache, signing nothing; 304 on If-Modified-Since.
        let count = signed();
        let again = get(pass_url.clone(), None).await;
        assert_eq!(again.bytes, r.bytes);
        assert_eq!(signed(), count);
        let not_modified = get(pass_url.clone(), Some(last_modified.clone())).await;
        assert_eq!(not_modified.status, 304);
        assert!(not_modified.bytes.is_empty());

        // A change: signed again, new value, same serial and token, notifies through changeMessage.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // Last-Modified has whole seconds
        app.earn(&member, &app.admin, "p2", json!({"amount": 400}))
            .await;
        let updated = get(pass_url.clone(), Some(last_modified)).await;
        assert_eq!(updated.status, 200);
        assert_eq!(signed(), count + 1);
        let pass = assert_valid_pkpass(&updated.bytes);
        assert_eq!(field(&pass, "points"), 520);
        assert_eq!(field(&pass, "tier"), "Gold");
        assert_eq!(pass["authenticationToken"], token);

        // The API route serves the same pass to an authenticated caller.
        let api = app
            .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
            .await;
        assert_eq!(api.status, 200);
        assert_eq!(api.bytes, updated.bytes);

        // Tampered or guessed links find nothing.
        let tampered = pass_url.replacen(".1.", ".2.", 1);
        assert_eq!(get(tampered, None).await.status, 404);
        let serial = pass["serialNumber"].as_str().unwrap();
        assert_eq!(
            get(format!("{}/passes/{serial}.pkpass", app.address), None)
                .await
                .status,
            404
        );

        // Voiding: the old link dies, the new one serves a voided pass whose old barcode is stale.
        let voided = app
            .post(
                &format!("/api/v1/members/{member}/void"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(get(pass_url.clone(), None).await.status, 404);
        let new_url = voided.body["pass_url"].as_str().unwrap().to_string();
        assert_ne!(new_url, pass_url);
        let r = get(new_url, None).await;
        let pass = assert_valid_pkpass(&r.bytes);
        assert_eq!(pass["voided"], true);
        assert_ne!(pass["barcodes"][0]["message"].as_str().unwrap(), barcode);
    }
);

both_engines!(
    uploaded_images_replace_defaults,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let png = make_png(120, 40);
        let r = app
            .client
            .put(app.url(&format!("/api/v1/programs/{program}/images/logo")))
            .bearer_auth(&app.admin)
            .header("Content-Type", "image/png")
            .body(png.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let list = app
            .get(&format!("/api/v1/programs/{program}/images"), &app.admin)
            .await;
        let logo = list.body["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "logo.png")
            .unwrap()
            .clone();
        assert_eq!(logo["source"], "uploaded");
        let r = app
            .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
            .await;
        assert_valid_pkpass(&r.bytes);
        let files = unzip(&r.bytes);
        // Stored re-encoded: the same pixels, and the other scales made from it.
        assert_eq!(pixels(&files["logo.png"]), pixels(&png));
        assert_eq!(dimensions(&files["logo@2x.png"]), (240, 80));
        assert_eq!(dimensions(&files["logo@3x.png"]), (360, 120));
        let r = app
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/programs/{program}/images/logo"),
                Some(&app.admin),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
        let r = app
            .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
            .await;
        let files = unzip(&r.bytes);
        assert_ne!(pixels(&files["logo.png"]), pixels(&png));
        assert_ne!(
            dimensions(&files["logo@3x.png"]),
            (360, 120),
            "every scale is drawn again"
        );
    }
);

pub fn pixels(png: &[u8]) -> Vec<u8> {
    image::load_from_memory(png).unwrap().to_rgba8().into_raw()
}

pub fn dimensions(png: &[u8]) -> (u32, u32) {
    let i = image::load_from_memory(png).unwrap();
    (i.width(), i.height())
}

/// A valid RGBA PNG of the given size.
fn make_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|i| [(i % 251) as u8, 80, 160, 255])
            .collect();
        w.write_image_data(&pixels).unwrap();
    }
    out
}

/// passkit-generator (a third-party reader, run with Node) opens what we produce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_reader_opens_our_pass() {
    let node_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    if !node_dir.join("node_modules/passkit-generator").exists() {
        skip(
            "third_party_reader_opens_our_pass",
            "node",
            "run `npm ci --prefix tests/node` (needs Node and the npm registry)",
        );
        return;
    }
    let app = spawn_app(Engine::Sqlite, "third_party_reader")
        .await
        .unwrap();
    let program = app.sample_program().await;
    let member = app.member(&program, "Ada").await;
    app.earn(&member, &app.admin, "n1", json!({"amount": 42}))
        .await;
    let r = app
        .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("card.pass");
    for (name, content) in unzip(&r.bytes) {
        let path = model.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let out = Command::new("node")
        .arg(node_dir.join("read-pkpass.mjs"))
        .arg(&model)
        .arg(&pki().dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "node reader failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours: Value = serde_json::from_slice(&unzip(&r.bytes)["pass.json"]).unwrap();
    assert_eq!(seen["type"], "storeCard");
    assert_eq!(seen["serialNumber"], ours["serialNumber"]);
    assert_eq!(
        seen["barcodes"][0]["message"],
        ours["barcodes"][0]["message"]
    );
    assert_eq!(seen["primaryFields"][0]["value"], 42);
    assert_eq!(seen["headerFields"][0]["value"], "Bronze");
    let languages: Vec<&str> = seen["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        languages.contains(&"de") && languages.contains(&"en"),
        "{languages:?}"
    );
    assert!(seen["rebuiltBytes"].as_u64().unwrap() > 1000);
}
