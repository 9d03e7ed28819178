//! Server-side templates: the HTML pages rendered per request (landing, unsubscribe, the console) and the
//! email and SMS messages. Every template is embedded in the binary at build time; `.html`
//! templates escape what they insert, `.txt` templates do not.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment};

/// Every template, by the name it is rendered under (its path below `templates/`), embedded
/// at build time. Add new templates here.
macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = embedded![
    "pages/landing_base.html",
    "pages/landing_enroll.html",
    "pages/landing_card.html",
    "pages/landing_sample.html",
    "pages/card_and_buttons.html",
    "pages/landing_error.html",
    "email/base.html",
    "email/points_expiring.subject.txt",
    "email/points_expiring.txt",
    "email/points_expiring.html",
    "sms/points_expiring.txt",
    "email/card_invite.subject.txt",
    "email/card_invite.txt",
    "email/card_invite.html",
    "sms/card_invite.txt",
    "email/sample_card.subject.txt",
    "email/sample_card.txt",
    "email/sample_card.html",
    "sms/sample_card.txt",
    "email/welcome.subject.txt",
    "email/welcome.txt",
    "email/welcome.html",
    "sms/welcome.txt",
    "email/we_miss_you.subject.txt",
    "email/we_miss_you.txt",
    "email/we_miss_you.html",
    "sms/we_miss_you.txt",
    "pages/unsubscribe.html",
    "email/console_base.html",
    "email/console_invite.subject.txt",
    "email/console_invite.txt",
    "email/console_invite.html",
    "email/console_reset.subject.txt",
    "email/console_reset.txt",
    "email/console_reset.html",
    "console/base.html",
    "console/error.html",
    "console/front.html",
    "console/sign_in.html",
    "console/forgot.html",
    "console/set_password.html",
    "console/home.html",
    "console/users.html",
    "console/audit.html",
    "console/members.html",
    "console/member.html",
    "console/reports.html",
    "console/designer.html",
    "console/program_new.html",
    "console/rules.html",
    "console/import.html",
    "console/import_file.html",
];

/// The template set, built once.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_formatter(format_value);
        for (name, source) in TEMPLATES {
            // The templates ship with the binary and are checked by the test below, so a
            // syntax error cannot reach a running service; should one, it renders as an error.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// minijinja's formatter, except that HTML escaping leaves `/` alone: it needs no escaping in
/// text or quoted attributes, and links written `https:&#x2f;&#x2f;…` in an email's source
/// look broken to people and to link checkers.
fn format_value(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match (state.auto_escape(), value.as_str()) {
        (AutoEscape::Html, Some(text)) if !value.is_safe() => out
            .write_str(&escape_html(text))
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders template `name` with `context`.
pub fn render(name: &str, context: impl serde::Serialize) -> anyhow::Result<String> {
    let template = environment()
        .get_template(name)
        .map_err(|e| anyhow::anyhow!("template {name}: {e:#}"))?;
    template
        .render(context)
        .map_err(|e| anyhow::anyhow!("rendering {name}: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
        assert!(render("no/such.html", ()).is_err());
    }

    #[test]
    fn html_escaping_keeps_urls_readable() {
        let mut env = Environment::new();
        env.set_formatter(format_value);
        env.add_template("t.html", "<a href=\"{{ u }}\">{{ n }}</a>")
            .unwrap();
        let html = env
            .get_template("t.html")
            .unwrap()
            .render(minijinja::context! { u => "https://x.example/c/a?b=1&c=2", n => "<b>\"O'Neil\"</b>" })
            .unwrap();
        assert_eq!(
            html,
            "<a href=\"https://x.example/c/a?b=1&amp;c=2\">&lt;b&gt;&quot;O&#x27;Neil&quot;&lt;&#x2f;b&gt;</a>"
                .replace("&#x2f;", "/")
        );
    }
}
