//! A member's card page: the wallet buttons in the order each phone wants them (Google's only
//! when it is configured), the QR hand-off on a desktop, each visit recorded as a click, and the
//! Google button handing over to Google's save page.

use reqwest::header::{LOCATION, USER_AGENT};
use serde_json::json;

use crate::both_engines;
use crate::helpers::*;
use crate::landing::{buttons, card_link, events, google_app, page, ANDROID, DESKTOP, IPHONE};

both_engines!(
    card_page_orders_the_wallet_buttons_for_the_platform,
    run = wallet_buttons
);

async fn wallet_buttons(engine: Engine, test: &str) {
    let Some((app, _account)) = google_app(engine, test).await else {
        return;
    };
    let program = app.sample_program().await;
    let r = app
        .enroll(
            &program,
            json!({"name": "Ada <b>Lovelace</b>", "email": "ada@example.com"}),
        )
        .await;
    let member = r.body["id"].as_str().unwrap().to_string();
    app.earn(&member, &app.admin, "seed", json!({"amount": 120}))
        .await;
    let code = card_link(&app, &member).await;
    let path = format!("/c/{code}");

    let (status, iphone) = page(&app, &path, IPHONE).await;
    assert_eq!(status, 200);
    assert_eq!(buttons(&iphone), ["apple-wallet", "google-wallet"]);
    assert!(iphone.contains(">Add to Apple Wallet<") && iphone.contains(">Save to Google Wallet<"));
    assert!(
        !iphone.contains("id=\"handoff\""),
        "no QR hand-off on a phone"
    );
    // The member's name is text, not markup; the page's summary shows points and tier.
    assert!(
        iphone.contains("Ada &lt;b&gt;Lovelace&lt;&#x2f;b&gt;")
            || iphone.contains("Ada &lt;b&gt;Lovelace&lt;/b&gt;"),
        "{iphone}"
    );
    assert!(
        iphone.contains("<dd id=\"member-points\">120</dd>"),
        "{iphone}"
    );
    assert!(
        iphone.contains("<dd id=\"member-tier\">Silver</dd>"),
        "{iphone}"
    );
    assert!(iphone.contains("<html lang=\"en\">"));

    let (_, android) = page(&app, &path, ANDROID).await;
    assert_eq!(buttons(&android), ["google-wallet", "apple-wallet"]);
    assert!(!android.contains("id=\"handoff\""));

    let (_, desktop) = page(&app, &path, DESKTOP).await;
    assert_eq!(buttons(&desktop), ["apple-wallet", "google-wallet"]);
    let qr = &desktop[desktop
        .find("id=\"handoff-qr\"")
        .expect("a QR hand-off on a desktop")..];
    assert!(
        qr.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{qr}"
    );

    // Each visit is a click, with the platform it came from.
    let clicks: Vec<_> = events(&app, &code).await;
    assert_eq!(
        clicks,
        [
            (
                "clicked".to_string(),
                "ios".to_string(),
                Some(member.clone())
            ),
            (
                "clicked".to_string(),
                "android".to_string(),
                Some(member.clone())
            ),
            (
                "clicked".to_string(),
                "desktop".to_string(),
                Some(member.clone())
            ),
        ]
    );

    // The Google button hands over to Google's save page and is recorded.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(app.url(&format!("/c/{code}/google")))
        .header(USER_AGENT, ANDROID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap();
    assert!(to.starts_with("https://pay.google.com/gp/v/save/"), "{to}");
    let last = events(&app, &code).await.pop().unwrap();
    assert_eq!(
        last,
        (
            "google_save".to_string(),
            "android".to_string(),
            Some(member)
        )
    );
}

both_engines!(
    without_google_the_page_offers_apple_and_says_so,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let code = card_link(&app, &member).await;
        for ua in [IPHONE, ANDROID, DESKTOP] {
            let (status, html) = page(&app, &format!("/c/{code}"), ua).await;
            assert_eq!(status, 200);
            assert_eq!(buttons(&html), ["apple-wallet"]);
            assert!(html.contains("id=\"google-note\""), "{html}");
        }
        let (status, html) = page(&app, &format!("/c/{code}/google"), ANDROID).await;
        assert_eq!(status, 404);
        assert!(html.contains("Google Wallet is not available"));
    }
);
