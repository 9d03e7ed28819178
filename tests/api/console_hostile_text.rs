//! Every free-text field of the console's forms takes `<script>` and right-to-left text and
//! gives it back intact and inert: the program, the card design, the rules and rewards, a
//! points reason, an invitation and the member search. Each form is sent with that text in
//! all its text fields (a field that refuses it shows the form again with what was typed);
//! the page that follows holds the text as text, never as markup.

use crate::both_engines;
use crate::console::*;
use crate::console_designer::{attribute, form_fields, unescape};
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// Markup, an apostrophe, an ampersand and Arabic: short enough for the shortest field.
const HOSTILE: &str = "<script>x</script>'&م";

/// The names of the text inputs and text areas of form `id` in `html`.
fn text_fields(html: &str, id: &str) -> Vec<String> {
    let start = html.find(&format!("<form id=\"{id}\"")).expect("the form");
    let body = &html[start..start + html[start..].find("</form>").unwrap()];
    body.split('<')
        .filter(|tag| {
            let text_input = tag.starts_with("input")
                && matches!(
                    attribute(tag, "type").as_deref(),
                    None | Some("text") | Some("search")
                );
            text_input || tag.starts_with("textarea")
        })
        .filter_map(|tag| attribute(&format!("<{tag}"), "name"))
        .collect()
}

/// The page a form's answer leads to: the answer itself, or where it sends the browser.
async fn outcome(app: &TestApp, who: &Session, r: Reply) -> String {
    match r.headers.get("location") {
        Some(to) if r.status == 303 => text(&page(app, &who.cookie, to.to_str().unwrap()).await),
        _ => {
            assert!(
                [200, 409, 422].contains(&r.status.as_u16()),
                "{}: {}",
                r.status,
                text(&r)
            );
            text(&r)
        }
    }
}

/// `html` holds the hostile text as text (escaped), and nowhere as markup.
fn holds_it_inert(html: &str, what: &str) {
    assert!(
        !html.contains(HOSTILE) && !html.contains("<script>x"),
        "{what}: raw in {html}"
    );
    assert!(unescape(html).contains(HOSTILE), "{what}: lost in {html}");
}

/// Sends form `id` of the page at `path` to `action` with `HOSTILE` in every text field.
async fn send_hostile(app: &TestApp, who: &Session, path: &str, id: &str, action: &str) -> String {
    let html = text(&page(app, &who.cookie, path).await);
    let names = text_fields(&html, id);
    assert!(!names.is_empty(), "{id} has text fields");
    let mut fields = form_fields(&html, id);
    for (name, value) in fields.iter_mut() {
        if names.contains(name) {
            *value = HOSTILE.to_string();
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = form(app, &who.cookie, action, &pairs).await;
    let after = outcome(app, who, r).await;
    holds_it_inert(&after, id);
    after
}

both_engines!(
    every_console_text_field_keeps_script_and_rtl_text_inert,
    |app: TestApp| async move {
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;

        let designer = send_hostile(
            &app,
            &owner,
            "/console/programs/new",
            "new-program",
            "/console/programs",
        )
        .await;
        let program = designer
            .split("action=\"/console/programs/")
            .nth(1)
            .and_then(|s| s.split(['"', '/']).next())
            .expect("the designer's form")
            .to_string();
        let designer_path = format!("/console/programs/{program}");
        send_hostile(&app, &owner, &designer_path, "design", &designer_path).await;

        let rules = format!("{designer_path}/rules");
        for (id, action) in [
            ("earn", format!("{rules}/earn")),
            ("tiers", format!("{rules}/tiers")),
            ("new-reward", format!("{designer_path}/rewards")),
            ("expiry", format!("{rules}/expiry")),
        ] {
            send_hostile(&app, &owner, &rules, id, &action).await;
        }

        let ada = app.member(&program, "Ada Lovelace").await;
        let member = format!("/console/members/{ada}");
        send_hostile(&app, &owner, &member, "adjust", &format!("{member}/points")).await;

        send_hostile(&app, &owner, "/console/users", "invite", "/console/users").await;

        let q: String = HOSTILE.bytes().map(|b| format!("%{b:02X}")).collect();
        let found = text(
            &page(
                &app,
                &owner.cookie,
                &format!("/console/members?program={program}&q={q}"),
            )
            .await,
        );
        holds_it_inert(&found, "member-search");
    }
);
