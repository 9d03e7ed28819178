//! Images from one upload (`PUT /api/v1/programs/{id}/artwork/{kind}`), and the default card
//! drawn in the program's colours.

use image::{ImageEncoder, Rgb, RgbImage};
use reqwest::Method;

use crate::both_engines;
use crate::helpers::*;
use crate::passes::{assert_valid_pkpass, dimensions, unzip};

/// A JPEG carrying an EXIF block that names a GPS position.
fn photo(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x / 12 % 256) as u8, (y / 12 % 256) as u8, 90])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 80)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08\0\0\0\0\0\0GPSLatitude 52.5200 N".to_vec();
    exif.extend_from_slice(&[0; 4]);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&plain[2..]);
    out
}

async fn upload(app: &TestApp, program: &str, kind: &str, ctype: &str, body: Vec<u8>) -> Reply {
    let r = app
        .client
        .put(app.url(&format!("/api/v1/programs/{program}/artwork/{kind}")))
        .bearer_auth(&app.admin)
        .header("Content-Type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap().to_vec();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
        bytes,
    }
}

async fn pass(app: &TestApp, member: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let r = app
        .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
        .await;
    assert_valid_pkpass(&r.bytes);
    unzip(&r.bytes)
}

async fn public_image(app: &TestApp, program: &str, file: &str) -> Vec<u8> {
    let r = app
        .client
        .get(app.url(&format!("/images/{program}/{file}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{file}");
    r.bytes().await.unwrap().to_vec()
}

both_engines!(
    one_photo_becomes_every_scale_and_only_pixels_are_published,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;

        // Before any upload the card is drawn in the program's colours, with its name.
        let before = pass(&app, &member).await;
        let (logo_w, logo_h) = dimensions(&before["logo@3x.png"]);
        assert_eq!(logo_h, 150);
        assert!(logo_w > 200, "the brand name is in the logo: {logo_w}");
        let icon = image::load_from_memory(&before["icon@3x.png"])
            .unwrap()
            .to_rgb8();
        assert_eq!(
            icon.get_pixel(43, 3).0,
            [33, 37, 41],
            "the design's background colour"
        );
        assert_eq!(
            dimensions(&public_image(&app, &program, "google-logo.png").await),
            (660, 660)
        );

        let version = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await
            .body["design_version"]
            .as_i64()
            .unwrap();
        let r = upload(&app, &program, "strip", "image/jpeg", photo(3000, 3000)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["kind"], "strip");
        let made: Vec<(String, u64, u64)> = r.body["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_owned(),
                    i["width"].as_u64().unwrap(),
                    i["height"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            made,
            [
                ("strip.png".into(), 375, 123),
                ("strip@2x.png".into(), 750, 246),
                ("strip@3x.png".into(), 1125, 369),
                ("google-hero.png".into(), 1032, 336),
            ]
        );
        let program_now = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await;
        assert_eq!(
            program_now.body["design_version"].as_i64(),
            Some(version + 1),
            "bumped once"
        );

        let after = pass(&app, &member).await;
        assert_eq!(dimensions(&after["strip@3x.png"]), (1125, 369));
        assert_eq!(dimensions(&after["strip.png"]), (375, 123));
        assert!(
            !after.contains_key("google-hero.png"),
            "Google's images stay out of the pass"
        );
        for (name, bytes) in &after {
            assert!(
                !bytes.windows(3).any(|w| w == b"GPS"),
                "{name} carries the upload's metadata"
            );
        }
        let hero = public_image(&app, &program, "google-hero.png").await;
        assert_eq!(dimensions(&hero), (1032, 336));
        let slots = app
            .get(&format!("/api/v1/programs/{program}/images"), &app.admin)
            .await;
        for slot in slots.body["images"].as_array().unwrap() {
            let uploaded = slot["name"].as_str().unwrap().starts_with("strip");
            assert_eq!(
                slot["source"],
                if uploaded { "uploaded" } else { "default" },
                "{slot}"
            );
        }

        // Removing one slot returns the whole kind to the drawn default, never a mix.
        let r = app
            .send(
                Method::DELETE,
                &format!("/api/v1/programs/{program}/images/strip@2x"),
                Some(&app.admin),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
        let slots = app
            .get(&format!("/api/v1/programs/{program}/images"), &app.admin)
            .await;
        assert!(slots.body["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["source"] == "default"));
        assert_ne!(public_image(&app, &program, "google-hero.png").await, hero);
    }
);

both_engines!(
    uploads_that_cannot_work_are_refused_in_words,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let refused = |r: &Reply, status: u16, code: &str| {
            r.assert_refused(status, code, None);
            r.body["error"]["message"].as_str().unwrap().to_owned()
        };
        let r = upload(&app, &program, "strip", "image/jpeg", photo(800, 300)).await;
        let m = refused(&r, 422, "invalid_image");
        assert!(m.contains("800x300") && m.contains("1125x369"), "{m}");
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
        let r = upload(&app, &program, "logo", "image/png", gif).await;
        assert!(refused(&r, 422, "invalid_image").contains("GIF"));
        let r = upload(&app, &program, "logo", "text/plain", b"logo".to_vec()).await;
        refused(&r, 415, "unsupported_media_type");
        let r = upload(&app, &program, "background", "image/png", photo(600, 600)).await;
        refused(&r, 404, "not_found");
        let r = upload(
            &app,
            &program,
            "logo",
            "image/jpeg",
            vec![0xFF; 11 * 1024 * 1024],
        )
        .await;
        refused(&r, 413, "payload_too_large");
        // Nothing of it was kept.
        let slots = app
            .get(&format!("/api/v1/programs/{program}/images"), &app.admin)
            .await;
        assert!(slots.body["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["source"] == "default"));
    }
);
