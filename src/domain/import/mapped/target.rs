//! What a column of an imported file is, and the guess from its heading.

use serde::{Deserialize, Serialize};

/// What a column of the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Ignore,
    Name,
    FirstName,
    LastName,
    Email,
    Phone,
    ExternalId,
    ConsentEmail,
    ConsentSms,
    Tier,
    Balance,
}

impl Target {
    pub const ALL: [Target; 11] = [
        Target::Ignore,
        Target::Name,
        Target::FirstName,
        Target::LastName,
        Target::Email,
        Target::Phone,
        Target::ExternalId,
        Target::ConsentEmail,
        Target::ConsentSms,
        Target::Tier,
        Target::Balance,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Target::Ignore => "ignore",
            Target::Name => "name",
            Target::FirstName => "first_name",
            Target::LastName => "last_name",
            Target::Email => "email",
            Target::Phone => "phone",
            Target::ExternalId => "external_id",
            Target::ConsentEmail => "consent_email",
            Target::ConsentSms => "consent_sms",
            Target::Tier => "tier",
            Target::Balance => "balance",
        }
    }

    /// The words the mapping form shows.
    pub fn words(self) -> &'static str {
        match self {
            Target::Ignore => "Leave out",
            Target::Name => "Full name",
            Target::FirstName => "First name",
            Target::LastName => "Last name",
            Target::Email => "Email",
            Target::Phone => "Phone",
            Target::ExternalId => "Your member number (from the old system)",
            Target::ConsentEmail => "Agreed to email (yes/no)",
            Target::ConsentSms => "Agreed to SMS (yes/no)",
            Target::Tier => "Tier",
            Target::Balance => "Opening balance (points)",
        }
    }

    pub fn from_key(key: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.key() == key)
    }

    /// A guess from a column's heading: `E-Mail`, `Mobile`, `Points`, `Vorname`, ...
    pub fn guess(heading: &str) -> Target {
        let h: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        let any = |words: &[&str]| words.iter().any(|w| h == *w);
        if any(&[
            "name",
            "fullname",
            "customer",
            "customername",
            "membername",
            "nom",
        ]) {
            Target::Name
        } else if any(&[
            "firstname",
            "first",
            "givenname",
            "forename",
            "vorname",
            "prenom",
        ]) {
            Target::FirstName
        } else if any(&["lastname", "last", "surname", "familyname", "nachname"]) {
            Target::LastName
        } else if h.contains("mail") && !h.contains("consent") && !h.contains("optin") {
            Target::Email
        } else if any(&[
            "phone",
            "mobile",
            "cell",
            "telephone",
            "tel",
            "phonenumber",
            "mobilephone",
            "handy",
            "mobil",
            "cellphone",
            "telefon",
        ]) {
            Target::Phone
        } else if any(&[
            "externalid",
            "id",
            "memberid",
            "membernumber",
            "customerid",
            "cardnumber",
            "number",
            "kundennummer",
        ]) {
            Target::ExternalId
        } else if h.contains("consent") && h.contains("mail") || any(&["emailoptin", "newsletter"])
        {
            Target::ConsentEmail
        } else if h.contains("consent") && h.contains("sms") || any(&["smsoptin"]) {
            Target::ConsentSms
        } else if any(&["tier", "level", "status", "stufe"]) {
            Target::Tier
        } else if any(&[
            "points",
            "balance",
            "punkte",
            "pointsbalance",
            "openingbalance",
        ]) {
            Target::Balance
        } else {
            Target::Ignore
        }
    }
}
