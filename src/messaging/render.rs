//! Rendering a message from its templates. Every template gets the same context (a campaign
//! module relies on it, so it stays exactly this):
//!
//! - `member`: `name`, `balance`, `tier` (or none)
//! - `program`: `name`, `organization`, `colors` (`background`, `foreground`, `label`, `#rrggbb`)
//! - `card_url`: the member's personal card link
//! - `unsubscribe_url`: email only
//! - `data`: the message's own data (`data.points`, `data.expires_at`, `data.offer`, ...)
//!
//! Email uses `email/{name}.subject.txt`, `email/{name}.txt` and `email/{name}.html`; SMS
//! uses `sms/{name}.txt`.

use serde::Serialize;

use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::templates;

#[derive(Debug, Serialize)]
pub struct MessageContext<'a> {
    member: MemberView<'a>,
    program: ProgramView<'a>,
    card_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unsubscribe_url: Option<String>,
    data: &'a serde_json::Value,
}

#[derive(Debug, Serialize)]
struct MemberView<'a> {
    name: &'a str,
    balance: i64,
    tier: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct ProgramView<'a> {
    name: &'a str,
    organization: &'a str,
    colors: Colors,
}

#[derive(Debug, Serialize)]
struct Colors {
    background: String,
    foreground: String,
    label: String,
}

impl<'a> MessageContext<'a> {
    pub fn new(
        member: &'a Member,
        program: &'a Program,
        card_url: String,
        unsubscribe_url: Option<String>,
        data: &'a serde_json::Value,
    ) -> MessageContext<'a> {
        let c = &program.design.colors;
        MessageContext {
            member: MemberView {
                name: &member.name,
                balance: member.balance,
                tier: member.tier.as_deref(),
            },
            program: ProgramView {
                name: &program.name,
                organization: &program.organization,
                colors: Colors {
                    background: c.background.hex(),
                    foreground: c.foreground.hex(),
                    label: c.label.hex(),
                },
            },
            card_url,
            unsubscribe_url,
            data,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render_email(template: &str, ctx: &MessageContext<'_>) -> anyhow::Result<RenderedEmail> {
    let subject = templates::render(&format!("email/{template}.subject.txt"), ctx)?;
    Ok(RenderedEmail {
        // One line: a template's trailing newline must not end the header early.
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: templates::render(&format!("email/{template}.txt"), ctx)?
            .trim()
            .to_string(),
        html: templates::render(&format!("email/{template}.html"), ctx)?,
    })
}

pub fn render_sms(template: &str, ctx: &MessageContext<'_>) -> anyhow::Result<String> {
    let body = templates::render(&format!("sms/{template}.txt"), ctx)?;
    Ok(body.trim().to_string())
}

/// The templates every message name must have.
pub const MESSAGE_TEMPLATES: [&str; 4] =
    ["points_expiring", "card_invite", "welcome", "we_miss_you"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;
    use crate::domain::member::NewMember;
    use serde_json::json;

    fn program() -> Program {
        use crate::domain::apple_ids::{PassTypeId, TeamId};
        use crate::domain::ids::ProgramId;
        use crate::domain::program::{Design, EarnRules, Tier, Tiers};
        let now = time::OffsetDateTime::UNIX_EPOCH;
        Program {
            id: ProgramId::generate(&OsRandom),
            name: "Bean <Club>".into(),
            organization: "Beans & Co".into(),
            pass_type_id: PassTypeId::parse("pass.com.example.beans").unwrap(),
            team_id: TeamId::parse("ABCDE12345").unwrap(),
            design: Design::default().validated().unwrap(),
            tiers: Tiers::validated(vec![Tier {
                name: "Bronze".into(),
                threshold: 0,
                design: None,
            }])
            .unwrap(),
            earn_rules: EarnRules::default(),
            design_version: 1,
            created_at: now,
            updated_at: now,
            pass_modified: now,
            expiry: None,
        }
    }

    fn member(program: &Program) -> Member {
        let new = NewMember {
            external_id: None,
            name: "Ada <b>".into(),
            email: None,
            phone: None,
            consent: Default::default(),
        };
        Member::enroll(program, new, &OsRandom, time::OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn every_message_renders_on_both_channels_and_html_is_escaped() {
        let program = program();
        let member = member(&program);
        let data =
            json!({"points": 70, "expires_at": "2026-12-01T00:00:00Z", "offer": "2 for 1 <today>"});
        for name in MESSAGE_TEMPLATES {
            let ctx = MessageContext::new(
                &member,
                &program,
                "https://x.example/c/abc".into(),
                Some("https://x.example/u/tok".into()),
                &data,
            );
            let email = render_email(name, &ctx).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(
                !email.subject.is_empty() && !email.subject.contains('\n'),
                "{name}"
            );
            assert!(
                email.text.contains("https://x.example/c/abc"),
                "{name}: {}",
                email.text
            );
            assert!(email.html.contains("https://x.example/c/abc"), "{name}");
            assert!(email.text.contains("https://x.example/u/tok"), "{name}");
            assert!(email.html.contains("https://x.example/u/tok"), "{name}");
            assert!(
                email.html.contains("Bean &lt;Club&gt;"),
                "{name}: {}",
                email.html
            );
            assert!(!email.html.contains("<b>"), "{name}");
            let sms_ctx = MessageContext::new(
                &member,
                &program,
                "https://x.example/c/abc".into(),
                None,
                &data,
            );
            let sms = render_sms(name, &sms_ctx).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(sms.contains("https://x.example/c/abc"), "{name}: {sms}");
            assert!(sms.contains("STOP"), "{name}: {sms}");
            let size = crate::domain::sms::sms_size(&sms);
            assert!(size.segments <= 2, "{name}: {sms} is {size:?}");
        }
    }

    #[test]
    fn the_offer_is_optional() {
        let program = program();
        let member = member(&program);
        let data = json!({});
        let ctx = MessageContext::new(&member, &program, "u".into(), Some("v".into()), &data);
        assert!(render_email("we_miss_you", &ctx).is_ok());
        assert!(render_email("card_invite", &ctx).is_ok());
        assert!(render_email("welcome", &ctx).is_ok());
    }
}
