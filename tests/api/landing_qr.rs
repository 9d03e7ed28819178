//! QR codes of links: PNG and SVG images that decode to the link, in the size asked for,
//! cached publicly for enrollment links and privately for personal ones, gone with the link.

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::landing::{card_link, enroll_link};

/// The text a QR code in a PNG carries.
fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

both_engines!(
    qr_images_carry_the_link_and_can_be_cached,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let link = enroll_link(&app, &program, json!({"channel": "print"})).await;
        let code = link["code"].as_str().unwrap();
        let url = link["url"].as_str().unwrap();

        let r = reply(
            app.client
                .get(link["qr_png"].as_str().unwrap())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers[CONTENT_TYPE], "image/png");
        assert_eq!(r.headers[CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(decode_png(&r.bytes), url);

        let r = reply(
            app.client
                .get(app.url(&format!("/c/{code}/qr.png?size=1000")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let info = png::Decoder::new(std::io::Cursor::new(&r.bytes))
            .read_info()
            .unwrap()
            .info()
            .width;
        assert!((900..=1000).contains(&info), "{info}");
        assert_eq!(decode_png(&r.bytes), url);

        let r = reply(
            app.client
                .get(link["qr_svg"].as_str().unwrap())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers[CONTENT_TYPE], "image/svg+xml");
        let svg = roxmltree::Document::parse(std::str::from_utf8(&r.bytes).unwrap()).unwrap();
        assert_eq!(svg.root_element().attribute("width"), Some("512"));

        for bad in ["?size=10", "?size=99999", "?size=big"] {
            let r = reply(
                app.client
                    .get(app.url(&format!("/c/{code}/qr.png{bad}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status, 400, "{bad}");
        }
        // A personal link's code is nobody else's: its picture is not for shared caches.
        let member = app.member(&program, "Ada").await;
        let card = card_link(&app, &member).await;
        let r = reply(
            app.client
                .get(app.url(&format!("/c/{card}/qr.svg")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.headers[CACHE_CONTROL], "private, max-age=3600");

        let r = reply(
            app.client
                .get(app.url("/c/zzzzzzzz/qr.png"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 404);
        app.send(
            Method::DELETE,
            &format!("/api/v1/links/{code}"),
            Some(&app.admin),
            None,
            &[],
        )
        .await;
        let r = reply(
            app.client
                .get(app.url(&format!("/c/{code}/qr.png")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 410);
    }
);
