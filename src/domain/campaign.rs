//! Campaigns: a marketer's message (or link-only effort, for print and the web) to an
//! audience of a program's members, sent once or run on a schedule as an automation.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::distribution::Channel;
use super::ids::{CampaignId, ProgramId};
use super::program::Tiers;
use super::{text, Invalid};
use crate::clock::Random;

/// The message templates a campaign may send (files under `templates/email` and
/// `templates/sms`). Reminders use their own (`points_expiring`).
pub const CAMPAIGN_TEMPLATES: [&str; 3] = ["card_invite", "welcome", "we_miss_you"];

/// Who a campaign is for. Voided cards are never part of an audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Audience {
    /// Every active member.
    All,
    /// Members in one tier.
    Tier { tier: String },
    /// Members with no accepted scan for `days` days (who joined before that).
    Inactive { days: u32 },
    /// Members who enrolled within the last `days` days: welcome messages.
    NewMembers { days: u32 },
    /// The members a CSV named (`PUT /campaigns/{id}/audience`).
    List,
}

/// Described by hand: the derive gives the variants of a tagged enum no
/// `additionalProperties: false`, which `deny_unknown_fields` means here.
impl utoipa::PartialSchema for Audience {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, Type};
        use utoipa::openapi::{ObjectBuilder, OneOfBuilder};
        let days = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(3650))
        };
        let variant =
            |kind: &str, description: Option<&str>, field: Option<(&str, ObjectBuilder)>| {
                let mut o = ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .required("kind")
                    .additional_properties(Some(
                        AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(false),
                    ))
                    .description(description)
                    .property(
                        "kind",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some([kind])),
                    );
                if let Some((name, schema)) = field {
                    o = o.required(name).property(name, schema);
                }
                o
            };
        OneOfBuilder::new()
            .description(Some(
                "Who a campaign is for. Voided cards are never in an audience.",
            ))
            .item(variant("all", None, None))
            .item(variant(
                "tier",
                None,
                Some(("tier", ObjectBuilder::new().schema_type(Type::String))),
            ))
            .item(variant(
                "inactive",
                Some("No accepted scan for `days` days (and joined before that)."),
                Some(("days", days())),
            ))
            .item(variant(
                "new_members",
                Some("Enrolled within the last `days` days."),
                Some(("days", days())),
            ))
            .item(variant(
                "list",
                Some("The members named by `PUT /campaigns/{id}/audience`."),
                None,
            ))
            .into()
    }
}

impl utoipa::ToSchema for Audience {}

impl Audience {
    fn validated(self, tiers: &Tiers) -> Result<Audience, Invalid> {
        let days = |d: u32| {
            if (1..=3650).contains(&d) {
                Ok(())
            } else {
                Err(Invalid::new("audience.days", "must be 1 to 3650"))
            }
        };
        match &self {
            Audience::Tier { tier } if tiers.by_name(tier).is_none() => Err(Invalid::new(
                "audience.tier",
                format!("the program has no tier named {tier:?}"),
            )),
            Audience::Inactive { days: d } | Audience::NewMembers { days: d } => {
                days(*d)?;
                Ok(self)
            }
            _ => Ok(self),
        }
    }

    /// The time `days` before `now`, for the audiences that have one.
    pub fn cutoff(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Audience::Inactive { days } | Audience::NewMembers { days } => {
                Some(now - time::Duration::days(i64::from(*days)))
            }
            _ => None,
        }
    }
}

/// Runs every `every_hours` for members who newly match the audience; each member gets at
/// most one message per `window_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    #[schema(minimum = 1, maximum = 720)]
    pub every_hours: u32,
    #[schema(minimum = 1, maximum = 3650)]
    pub window_days: u32,
}

impl Automation {
    fn validated(self) -> Result<Automation, Invalid> {
        if !(1..=720).contains(&self.every_hours) {
            return Err(Invalid::new("automation.every_hours", "must be 1 to 720"));
        }
        if !(1..=3650).contains(&self.window_days) {
            return Err(Invalid::new("automation.window_days", "must be 1 to 3650"));
        }
        Ok(self)
    }

    pub fn every(&self) -> time::Duration {
        time::Duration::hours(i64::from(self.every_hours))
    }

    pub fn window(&self) -> time::Duration {
        time::Duration::days(i64::from(self.window_days))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Created, not sent yet: can be previewed and changed.
    Draft,
    /// A one-off send in progress.
    Sending,
    /// A one-off send finished: every audience member has a message (or a reason it was skipped).
    Sent,
    /// An automation that runs on its schedule.
    Active,
    /// An automation stopped by the marketer.
    Paused,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Sending => "sending",
            CampaignStatus::Sent => "sent",
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Result<CampaignStatus, Invalid> {
        [
            CampaignStatus::Draft,
            CampaignStatus::Sending,
            CampaignStatus::Sent,
            CampaignStatus::Active,
            CampaignStatus::Paused,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| Invalid::new("status", "unknown campaign status"))
    }
}

#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: CampaignId,
    pub program_id: ProgramId,
    pub name: String,
    pub channel: Channel,
    /// The message template, for email and SMS campaigns.
    pub template: Option<String>,
    /// Values the template uses (an offer's text).
    pub data: Value,
    pub audience: Audience,
    pub automation: Option<Automation>,
    pub status: CampaignStatus,
    pub next_run_at: Option<OffsetDateTime>,
    pub last_run_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Campaign {
    /// Whether this campaign sends messages (email, SMS) or only carries links.
    pub fn sends(&self) -> bool {
        self.channel.messaging().is_some()
    }
}

/// What a marketer sends to create a campaign.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    #[schema(max_length = 120)]
    pub name: String,
    /// email and sms send messages; print and web campaigns only carry links.
    #[schema(value_type = Channel)]
    pub channel: String,
    /// Required for email and sms, refused for print and web.
    #[serde(default)]
    #[schema(schema_with = template_schema)]
    pub template: Option<String>,
    /// Values the template uses (e.g. `offer`): at most 20 strings (500 characters), numbers
    /// or booleans.
    #[serde(default)]
    #[schema(schema_with = data_schema)]
    pub data: Option<Value>,
    #[serde(default)]
    pub audience: Option<Audience>,
    #[serde(default)]
    pub automation: Option<Automation>,
}

/// The `template` a campaign may name: one of [`CAMPAIGN_TEMPLATES`].
fn template_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(CAMPAIGN_TEMPLATES))
        .description(Some(
            "Required for email and sms, refused for print and web.",
        ))
        .build()
}

/// The template values: an object of strings, numbers or booleans.
fn data_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Values the template uses (e.g. `offer`): at most 20 strings (500 characters), \
             numbers or booleans.",
        ))
        .additional_properties(Some(utoipa::openapi::ObjectBuilder::new().schema_type(
            SchemaType::from_iter([Type::String, Type::Number, Type::Boolean]),
        )))
        .build()
}

impl CampaignInput {
    pub fn into_campaign(
        self,
        program: &ProgramId,
        tiers: &Tiers,
        rng: &dyn Random,
        now: OffsetDateTime,
    ) -> Result<Campaign, Invalid> {
        let channel = Channel::parse(&self.channel)?;
        let template = match (channel.messaging(), self.template) {
            (Some(_), Some(t)) if CAMPAIGN_TEMPLATES.contains(&t.as_str()) => Some(t),
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    "template",
                    format!("must be one of {}", CAMPAIGN_TEMPLATES.join(", ")),
                ))
            }
            (Some(_), None) => {
                return Err(Invalid::new(
                    "template",
                    "is required for email and SMS campaigns",
                ))
            }
            (None, Some(_)) => {
                return Err(Invalid::new(
                    "template",
                    "print and web campaigns send no messages",
                ))
            }
            (None, None) => None,
        };
        if channel.messaging().is_none() && self.automation.is_some() {
            return Err(Invalid::new(
                "automation",
                "print and web campaigns send no messages",
            ));
        }
        let data = validated_data(
            self.data
                .unwrap_or_else(|| Value::Object(Default::default())),
        )?;
        Ok(Campaign {
            id: CampaignId::generate(rng),
            program_id: program.clone(),
            name: text("name", &self.name, 120)?,
            channel,
            template,
            data,
            audience: self.audience.unwrap_or(Audience::All).validated(tiers)?,
            automation: self.automation.map(Automation::validated).transpose()?,
            status: CampaignStatus::Draft,
            next_run_at: None,
            last_run_at: None,
            sent_at: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Template values: an object of at most 20 short strings or numbers.
fn validated_data(data: Value) -> Result<Value, Invalid> {
    let Value::Object(map) = &data else {
        return Err(Invalid::new("data", "must be an object"));
    };
    if map.len() > 20 {
        return Err(Invalid::new("data", "at most 20 values"));
    }
    for (key, value) in map {
        let ok = match value {
            Value::String(s) => s.chars().count() <= 500,
            Value::Number(_) | Value::Bool(_) => true,
            _ => false,
        };
        if !ok || key.is_empty() || key.len() > 40 {
            return Err(Invalid::new(
                format!("data.{key}"),
                "values are strings (at most 500 characters), numbers or booleans",
            ));
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;
    use crate::domain::program::Tier;
    use serde_json::json;

    fn tiers() -> Tiers {
        Tiers::validated(vec![Tier {
            name: "Gold".into(),
            threshold: 100,
            design: None,
        }])
        .unwrap()
    }

    fn input(v: Value) -> Result<Campaign, Invalid> {
        serde_json::from_value::<CampaignInput>(v)
            .map_err(|e| Invalid::new("body", e.to_string()))?
            .into_campaign(
                &ProgramId::generate(&OsRandom),
                &tiers(),
                &OsRandom,
                time::OffsetDateTime::UNIX_EPOCH,
            )
    }

    #[test]
    fn email_campaigns_need_a_known_template() {
        let ok = input(json!({"name": "Spring", "channel": "email", "template": "card_invite"}))
            .unwrap();
        assert_eq!(ok.audience, Audience::All);
        assert_eq!(ok.status, CampaignStatus::Draft);
        assert!(ok.sends());
        let missing = input(json!({"name": "Spring", "channel": "sms"})).unwrap_err();
        assert_eq!(missing.field, "template");
        let unknown =
            input(json!({"name": "S", "channel": "email", "template": "../etc"})).unwrap_err();
        assert_eq!(unknown.field, "template");
        let print = input(json!({"name": "Poster", "channel": "print"})).unwrap();
        assert!(!print.sends());
        assert!(input(json!({"name": "P", "channel": "print", "template": "welcome"})).is_err());
    }

    #[test]
    fn audiences_and_automations_are_checked() {
        let tier = input(
            json!({"name": "G", "channel": "email", "template": "we_miss_you",
            "audience": {"kind": "tier", "tier": "Nope"}}),
        )
        .unwrap_err();
        assert_eq!(tier.field, "audience.tier");
        let days = input(
            json!({"name": "G", "channel": "email", "template": "we_miss_you",
            "audience": {"kind": "inactive", "days": 0}}),
        )
        .unwrap_err();
        assert_eq!(days.field, "audience.days");
        let auto = input(
            json!({"name": "G", "channel": "email", "template": "we_miss_you",
            "audience": {"kind": "inactive", "days": 60},
            "automation": {"every_hours": 24, "window_days": 90}}),
        )
        .unwrap();
        assert_eq!(auto.automation.unwrap().window(), time::Duration::days(90));
        let bad = input(
            json!({"name": "G", "channel": "email", "template": "we_miss_you",
            "automation": {"every_hours": 0, "window_days": 90}}),
        )
        .unwrap_err();
        assert_eq!(bad.field, "automation.every_hours");
        let data = input(
            json!({"name": "G", "channel": "email", "template": "welcome",
            "data": {"offer": ["x"]}}),
        )
        .unwrap_err();
        assert_eq!(data.field, "data.offer");
    }
}
