//! "Send a sample to my phone" from the card designer: the sample goes by email or SMS
//! (the development folders stand in for the relay and the provider) to the address typed,
//! once though the form was sent twice; its link opens a page with the wallet buttons and a
//! signed sample pass of the saved design, and stops working after a week. A tampered link
//! opens nothing, a wrong address is refused in words with what was typed kept, and with
//! Google Wallet set up the sample saves there without becoming anyone's card.

use serde_json::Value;

use crate::both_engines;
use crate::campaigns::app_with_clock;
use crate::console::*;
use crate::google_wallet::{google_app, jwt_claims};
use crate::helpers::*;
use passwright::domain::api_key::Role;
use passwright::domain::ids::ProgramId;

fn sample_form(html: &str) -> &str {
    let at = html.find("id=\"sample-send\"").expect("the sample form");
    &html[at..at + html[at..].find("</form>").unwrap()]
}

fn field(form: &str, name: &str) -> String {
    form.split(&format!("name=\"{name}\""))
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// The files in `dir` whose names start with `prefix`, with their contents.
fn files(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect()
}

/// The path of the sample link in a message (`/sample/…`).
fn sample_path(message: &str, address: &str) -> String {
    // Quoted-printable may fold the line; the plain-text part has the link whole.
    let unfolded = message.replace("=\r\n", "").replace("=\n", "");
    let start = unfolded
        .find(&format!("{address}/sample/"))
        .unwrap_or_else(|| panic!("no sample link in {message}"));
    let link: String = unfolded[start + address.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
        .collect();
    link.trim_end_matches('.').to_string()
}

both_engines!(
    a_sample_card_goes_to_my_phone_and_expires_after_a_week,
    run = |engine, test| async move {
        let Some((app, clock)) = app_with_clock(engine, test).await else {
            return;
        };
        let program = app.sample_program().await;
        add_user(&app, "mia@beans.example", Role::Marketer, None).await;
        let mia = sign_in(&app, "mia@beans.example").await;
        let designer = format!("/console/programs/{program}");
        let send = format!("{designer}/sample");

        // The form offers the person's own address.
        let html = text(&page(&app, &mia.cookie, &designer).await);
        let form_html = sample_form(&html).to_string();
        assert_eq!(field(&form_html, "to"), "mia@beans.example", "{form_html}");
        let nonce = field(&form_html, "nonce");
        assert!(nonce.len() >= 20, "{form_html}");

        // A national number without its country code: refused in words, kept as typed.
        let bad = form(
            &app,
            &mia.cookie,
            &send,
            &[
                ("csrf", &mia.csrf),
                ("nonce", &nonce),
                ("to", "07700 900123"),
            ],
        )
        .await;
        assert_eq!(bad.status, 422);
        let again = text(&bad);
        assert!(
            again.contains("the country code (for example +44"),
            "{again}"
        );
        assert_eq!(field(sample_form(&again), "to"), "07700 900123");
        assert_eq!(app.count("outbox_jobs").await, 0);

        // By email, sent twice (a double tap): one message.
        for _ in 0..2 {
            let done = form(
                &app,
                &mia.cookie,
                &send,
                &[
                    ("csrf", &mia.csrf),
                    ("nonce", &nonce),
                    ("to", "mia@beans.example"),
                ],
            )
            .await;
            assert_eq!(done.status, 303, "{}", text(&done));
            assert_eq!(
                done.headers["location"],
                format!("{designer}?notice=sample_email").as_str()
            );
        }
        app.state.outbox.drain().await.unwrap();
        let mails = files(&app.data_dir.path().join("mail"), "sample-");
        assert_eq!(mails.len(), 1, "{mails:?}");
        let mail = &mails[0];
        assert!(mail.contains("To: mia@beans.example"), "{mail}");
        assert!(mail.contains("Subject: A sample of the "), "{mail}");
        assert!(!mail.contains("List-Unsubscribe"), "{mail}");
        let link = sample_path(mail, &app.address);
        let notice = text(
            &page(
                &app,
                &mia.cookie,
                &format!("{designer}?notice=sample_email"),
            )
            .await,
        );
        assert!(
            notice.contains("A sample card is on its way by email."),
            "{notice}"
        );

        // The link opens the sample with the wallet buttons, signed afresh.
        let iphone = app
            .client
            .get(app.url(&link))
            .header(
                "User-Agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
            )
            .send()
            .await
            .unwrap();
        let shown = reply(iphone).await;
        assert_eq!(shown.status, 200);
        let shown = text(&shown);
        assert!(shown.contains("A sample of the"), "{shown}");
        assert!(shown.contains("Alex Sample"), "{shown}");
        assert!(shown.contains("<h2>Try it on your phone</h2>"), "{shown}");
        assert!(
            shown.contains(&format!("href=\"{link}/apple.pkpass\"")),
            "{shown}"
        );
        let pass = app
            .client
            .get(app.url(&format!("{link}/apple.pkpass")))
            .send()
            .await
            .unwrap();
        let pass = reply(pass).await;
        assert_eq!(pass.status, 200);
        assert_eq!(pass.headers["content-type"], "application/vnd.apple.pkpass");
        let signed = crate::passes::assert_valid_pkpass(&pass.bytes);
        assert_eq!(
            signed["storeCard"]["primaryFields"][0]["value"], 120,
            "{signed}"
        );
        // Nobody became a member.
        assert_eq!(app.count("members").await, 0);

        // By SMS, to a number with its country code.
        let html = text(&page(&app, &mia.cookie, &designer).await);
        let nonce = field(sample_form(&html), "nonce");
        let done = form(
            &app,
            &mia.cookie,
            &send,
            &[
                ("csrf", &mia.csrf),
                ("nonce", &nonce),
                ("to", "+44 7700 900123"),
            ],
        )
        .await;
        assert_eq!(done.status, 303, "{}", text(&done));
        app.state.outbox.drain().await.unwrap();
        let texts = files(&app.data_dir.path().join("sms"), "sample-");
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(texts[0].contains("+447700900123"), "{}", texts[0]);
        assert_eq!(sample_path(&texts[0], &app.address), link);

        // Both are in the audit log, which owners read.
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert_eq!(
            audit.matches("data-action=\"program.sample_sent\"").count(),
            2,
            "{audit}"
        );

        // A link changed by hand opens nothing; after a week the link has expired.
        let tampered = link.replacen("/sample/prg_", "/sample/prg_a", 1);
        let r = app.client.get(app.url(&tampered)).send().await.unwrap();
        assert_eq!(r.status(), 404);
        clock.advance(time::Duration::days(7) + time::Duration::minutes(1));
        for path in [link.clone(), format!("{link}/apple.pkpass")] {
            let r = reply(app.client.get(app.url(&path)).send().await.unwrap()).await;
            assert_eq!(r.status, 410, "{path}");
            assert!(text(&r).contains("This sample has expired"), "{}", text(&r));
        }
    }
);

both_engines!(
    a_sample_card_saves_to_google_wallet_without_becoming_a_card,
    run = |engine, test| async move {
        let Some(g) = google_app(engine, test).await else {
            return;
        };
        let app = &g.app;
        let program = app.sample_program().await;
        let id = ProgramId::parse(&program).unwrap();
        let expires = passwright::clock::system_now().unix_timestamp() + 3600;
        let token = app.state.cards.keys().sample_key().token(&id, expires);
        let r = reply(
            app.client
                .get(app.url(&format!("/sample/{token}")))
                .header(
                    "User-Agent",
                    "Mozilla/5.0 (Linux; Android 15; Pixel 9) Mobile",
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        let page_html = text(&r);
        let google_at = page_html
            .find("id=\"google-wallet\"")
            .expect("a Google button");
        assert!(
            google_at < page_html.find("id=\"apple-wallet\"").unwrap(),
            "Android: Google first"
        );

        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client
            .get(app.url(&format!("/sample/{token}/google")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_string();
        let claims = jwt_claims(&to, &g.account_public_pem);
        let object_id = claims["payload"]["loyaltyObjects"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let object: Value = g
            .fake
            .object(&object_id)
            .expect("the sample object at Google");
        assert_eq!(object["accountName"], "Alex Sample", "{object}");
        assert_eq!(app.count("google_objects").await, 0);
        assert_eq!(app.count("members").await, 0);
    }
);
