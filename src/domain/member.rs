//! A card holder in one program and the snapshot their card is rendered from.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::apple_ids::{AuthToken, SerialNumber};
use super::contact::{EmailAddress, PhoneNumber};
use super::ids::{MemberId, ProgramId};
use super::program::Program;
use super::{text, Invalid};
use crate::clock::{whole_seconds, Random};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Voided,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "active" => Ok(MemberStatus::Active),
            "voided" => Ok(MemberStatus::Voided),
            _ => Err(Invalid::new("status", "must be active or voided")),
        }
    }
}

/// Marketing consent. Each needs the matching contact (e-mail address, phone number). Absent
/// keys are false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    #[serde(default)]
    #[schema(default = false)]
    pub email: bool,
    #[serde(default)]
    #[schema(default = false)]
    pub sms: bool,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub id: MemberId,
    pub program_id: ProgramId,
    /// The marketer's own id for this person (from their CRM); unique within the program.
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    pub consent: Consent,
    pub status: MemberStatus,
    pub balance: i64,
    pub lifetime_points: i64,
    pub tier: Option<String>,
    /// The tier was set by hand in the console: points no longer move it.
    pub tier_held: bool,
    /// Bumps on every change a card holder could see.
    pub version: i64,
    /// Bumps when the card is re-issued or voided; barcodes from older generations stop working.
    pub card_generation: i64,
    pub serial: SerialNumber,
    pub auth_token: AuthToken,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The card's Last-Modified for what the member contributes: whole seconds, strictly
    /// increasing with every change, so a device's If-Modified-Since never hides one.
    pub pass_modified: OffsetDateTime,
    /// Points about to expire, shown on the card until they do.
    pub expiring: Option<super::expiry::Expiring>,
}

/// Enrollment request body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollInput {
    /// Your own id for this person; unique within the program (409 `external_id_taken`), no
    /// spaces.
    #[schema(min_length = 1, max_length = 100)]
    pub external_id: Option<String>,
    /// Trimmed; no control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(format = Email)]
    pub email: Option<String>,
    /// E.164: `+`, the country code and 8 to 15 digits in all; spaces, dashes, dots and
    /// brackets are dropped.
    #[schema(example = "+49 151 1234-5678")]
    pub phone: Option<String>,
    #[serde(default)]
    pub consent: Consent,
}

/// A checked enrollment.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    pub consent: Consent,
}

impl Member {
    /// A newly enrolled member of `program`: no points yet, the tier that zero lifetime points
    /// reach, a fresh serial number and authentication token for the card.
    pub fn enroll(
        program: &Program,
        new: NewMember,
        rng: &dyn Random,
        now: OffsetDateTime,
    ) -> Member {
        Member {
            id: MemberId::generate(rng),
            program_id: program.id.clone(),
            external_id: new.external_id,
            name: new.name,
            email: new.email,
            phone: new.phone,
            consent: new.consent,
            status: MemberStatus::Active,
            balance: 0,
            lifetime_points: 0,
            tier: program.tiers.tier_for(0).map(|t| t.name.clone()),
            tier_held: false,
            version: 1,
            card_generation: 1,
            serial: SerialNumber::generate(rng),
            auth_token: AuthToken::generate(rng),
            created_at: now,
            updated_at: now,
            pass_modified: whole_seconds(now),
            expiring: None,
        }
    }
}

pub fn external_id(s: &str) -> Result<String, Invalid> {
    let v = text("external_id", s, 100)?;
    if v.chars().any(char::is_whitespace) {
        return Err(Invalid::new("external_id", "must not contain spaces"));
    }
    Ok(v)
}

fn consent_needs_contact(consent: Consent, email: bool, phone: bool) -> Result<(), Invalid> {
    if consent.email && !email {
        return Err(Invalid::new(
            "consent.email",
            "e-mail consent needs an e-mail address",
        ));
    }
    if consent.sms && !phone {
        return Err(Invalid::new(
            "consent.sms",
            "SMS consent needs a phone number",
        ));
    }
    Ok(())
}

impl EnrollInput {
    pub fn validated(self) -> Result<NewMember, Invalid> {
        let email = self.email.as_deref().map(EmailAddress::parse).transpose()?;
        let phone = self.phone.as_deref().map(PhoneNumber::parse).transpose()?;
        consent_needs_contact(self.consent, email.is_some(), phone.is_some())?;
        Ok(NewMember {
            external_id: self.external_id.as_deref().map(external_id).transpose()?,
            name: text("name", &self.name, 100)?,
            email,
            phone,
            consent: self.consent,
        })
    }
}

/// Partial update: absent keys stay as they are; `null` clears `external_id`, `email` and
/// `phone` (and leaves `name` and `consent` as they are). Removing an address withdraws the
/// consent that depended on it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MemberPatch)]
pub struct MemberPatchInput {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub external_id: Option<Option<String>>,
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Email)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    pub consent: Option<ConsentPatch>,
}

/// Consent changes per channel; a channel not named keeps its consent.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentPatch {
    pub email: Option<bool>,
    pub sms: Option<bool>,
}

/// For PATCH bodies: an absent key is `None`, `null` is `Some(None)`.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl MemberPatchInput {
    /// Applies the patch to `m` (already loaded), checking the result as a whole.
    pub fn apply(self, m: &mut Member) -> Result<bool, Invalid> {
        let before = (
            m.external_id.clone(),
            m.name.clone(),
            m.email.clone(),
            m.phone.clone(),
            m.consent,
        );
        if let Some(v) = self.external_id {
            m.external_id = v.as_deref().map(external_id).transpose()?;
        }
        if let Some(v) = self.name {
            m.name = text("name", &v, 100)?;
        }
        if let Some(v) = self.email {
            m.email = v.as_deref().map(EmailAddress::parse).transpose()?;
        }
        if let Some(v) = self.phone {
            m.phone = v.as_deref().map(PhoneNumber::parse).transpose()?;
        }
        if let Some(c) = self.consent {
            m.consent.email = c.email.unwrap_or(m.consent.email);
            m.consent.sms = c.sms.unwrap_or(m.consent.sms);
        }
        // Removing an address withdraws the consent that depended on it.
        if m.email.is_none() {
            m.consent.email = false;
        }
        if m.phone.is_none() {
            m.consent.sms = false;
        }
        consent_needs_contact(m.consent, m.email.is_some(), m.phone.is_some())?;
        let after = (
            m.external_id.clone(),
            m.name.clone(),
            m.email.clone(),
            m.phone.clone(),
            m.consent,
        );
        Ok(before != after)
    }
}

/// A member for unit tests elsewhere: Ada, 120 points of 320, Bronze, in `program`.
#[cfg(test)]
pub(crate) fn sample(program: &ProgramId) -> Member {
    let now = crate::clock::system_now();
    let random = crate::clock::OsRandom;
    Member {
        id: MemberId::generate(&random),
        program_id: program.clone(),
        external_id: None,
        name: "Ada Lovelace".into(),
        email: None,
        phone: None,
        consent: Consent::default(),
        status: MemberStatus::Active,
        balance: 120,
        lifetime_points: 320,
        tier: Some("Bronze".into()),
        tier_held: false,
        version: 3,
        card_generation: 1,
        serial: SerialNumber::generate(&random),
        auth_token: AuthToken::generate(&random),
        created_at: now,
        updated_at: now,
        pass_modified: now,
        expiring: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_checks_contact_and_consent() {
        let ok: EnrollInput = serde_json::from_str(
            r#"{"name":" Ada ","email":"ada@example.com","consent":{"email":true},"external_id":"crm-1"}"#,
        )
        .unwrap();
        let m = ok.validated().unwrap();
        assert_eq!(m.name, "Ada");
        assert!(m.consent.email && !m.consent.sms);
        let no_phone: EnrollInput =
            serde_json::from_str(r#"{"name":"Ada","consent":{"sms":true}}"#).unwrap();
        assert_eq!(no_phone.validated().unwrap_err().field, "consent.sms");
        let bad_email: EnrollInput =
            serde_json::from_str(r#"{"name":"Ada","email":"nope"}"#).unwrap();
        assert_eq!(bad_email.validated().unwrap_err().field, "email");
        assert!(serde_json::from_str::<EnrollInput>(r#"{"name":"Ada","balance":5}"#).is_err());
    }

    #[test]
    fn status_round_trip() {
        for s in [MemberStatus::Active, MemberStatus::Voided] {
            assert_eq!(MemberStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(MemberStatus::parse("deleted").is_err());
    }
}
