//! The staff scanner opened over plain http by a shop's LAN address (a host name resolved to
//! this machine, so the browser does not treat the page as local): the camera button is off
//! and the page says in words that the camera needs HTTPS and what still works; a typed code
//! is still taken.

use crate::both_engines;
use crate::browser::{counter, disabled, test_name};
use crate::chromium::{Browser, Launch};
use crate::helpers::*;

both_engines!(
    over_plain_http_the_scanner_says_the_camera_needs_https,
    |app: TestApp| async move {
        let test = &test_name(&app, "over_plain_http_the_scanner_says");
        let c = counter(&app).await;
        let launch = Launch {
            host: Some("till.shop.test".into()),
            ..Launch::default()
        };
        let Some(mut b) = Browser::launch(test, launch).await else {
            return;
        };
        let port = app.address.rsplit(':').next().unwrap().to_string();
        b.phone().await;
        b.goto(&format!("http://till.shop.test:{port}/staff")).await;
        assert_eq!(b.eval("window.isSecureContext").await, false);
        b.fill("#key", &c.staff).await;
        b.click("#sign-in-form button[type=submit]").await;
        b.wait("#location[data-loaded='1']").await;
        let said = b.wait_text("#camera-status", "needs HTTPS").await;
        assert!(
            said.contains("Typing the code and a barcode scanner still work"),
            "{said}"
        );
        assert!(disabled(&mut b, "#camera-start").await);
        b.screenshot("plain-http").await;

        b.fill("#code", &c.code).await;
        b.click("#manual-form button[type=submit]").await;
        assert_eq!(
            b.wait_text("#member-name", "Ada Lovelace").await,
            "Ada Lovelace"
        );
        assert_eq!(b.errors().await, Vec::<String>::new());
        b.close().await;
    }
);
