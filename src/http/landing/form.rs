//! The enrollment form: what was typed, checked with the same domain rules the API uses, and
//! every problem found at once so the page can show each next to its field.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::member::{Consent, EnrollInput, NewMember};
use crate::domain::text;

/// The form as posted. Every field may be missing; a checkbox is present only when ticked.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EnrollForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    pub consent_email: Option<String>,
    pub consent_sms: Option<String>,
}

/// A problem with one field: its `id` on the page and what to tell the visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn error(field: &'static str, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.to_string(),
    }
}

fn given(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

impl EnrollForm {
    fn consent(&self) -> Consent {
        Consent {
            email: self.consent_email.is_some(),
            sms: self.consent_sms.is_some(),
        }
    }

    /// The new member, or every problem with the form in the order of its fields.
    pub fn validated(&self) -> Result<NewMember, Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = text("name", &self.name, 100) {
            errors.push(match given(&self.name) {
                None => error("name", "Enter your name."),
                Some(_) => error("name", &format!("Your name {}.", e.message)),
            });
        }
        let (email, phone) = (given(&self.email), given(&self.phone));
        if email.is_none() && phone.is_none() {
            errors.push(error(
                "email",
                "Enter an e-mail address or a phone number, so that we can reach you about your card.",
            ));
        }
        if email.is_some_and(|e| EmailAddress::parse(e).is_err()) {
            errors.push(error(
                "email",
                "Enter a valid e-mail address, like name@example.com.",
            ));
        }
        if phone.is_some_and(|p| PhoneNumber::parse(p).is_err()) {
            errors.push(error(
                "phone",
                "Enter the phone number with its country code, like +44 7700 900123.",
            ));
        }
        let consent = self.consent();
        if consent.email && email.is_none() {
            errors.push(error(
                "consent_email",
                "To get offers by e-mail, enter your e-mail address.",
            ));
        }
        if consent.sms && phone.is_none() {
            errors.push(error(
                "consent_sms",
                "To get offers by SMS, enter your phone number.",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // The API's enrollment rules decide; the checks above only word their answers for a
        // person. Should they ever disagree, the domain's message is shown.
        EnrollInput {
            external_id: None,
            name: self.name.clone(),
            email: email.map(str::to_string),
            phone: phone.map(str::to_string),
            consent,
        }
        .validated()
        .map_err(|e| {
            let field = match e.field.as_str() {
                "name" => "name",
                "phone" => "phone",
                "consent.email" => "consent_email",
                "consent.sms" => "consent_sms",
                _ => "email",
            };
            vec![FieldError {
                field,
                message: format!("{} {}.", e.field, e.message),
            }]
        })
    }

    /// What the template shows: each field's value as typed and its error, and the list of
    /// errors for the summary at the top.
    pub fn context(&self, errors: &[FieldError]) -> Value {
        let message = |field: &str| {
            errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone())
        };
        json!({
            "values": {
                "name": self.name,
                "email": self.email,
                "phone": self.phone,
                "consent_email": self.consent_email.is_some(),
                "consent_sms": self.consent_sms.is_some(),
            },
            "field_errors": {
                "name": message("name"),
                "email": message("email"),
                "phone": message("phone"),
                "consent_email": message("consent_email"),
                "consent_sms": message("consent_sms"),
            },
            "errors": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, email: &str, phone: &str) -> EnrollForm {
        EnrollForm {
            name: name.into(),
            email: email.into(),
            phone: phone.into(),
            ..EnrollForm::default()
        }
    }

    fn fields(f: &EnrollForm) -> Vec<&'static str> {
        f.validated().unwrap_err().iter().map(|e| e.field).collect()
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        assert_eq!(fields(&form("", "", "")), ["name", "email"]);
        assert_eq!(
            fields(&form("Ada", "nope", "07700 900123")),
            ["email", "phone"]
        );
        let mut sms = form("Ada", "ada@example.com", "");
        sms.consent_sms = Some("yes".into());
        assert_eq!(fields(&sms), ["consent_sms"]);
    }

    #[test]
    fn a_valid_form_is_a_new_member_with_the_consent_ticked() {
        let mut f = form(" Ada ", "", "+44 7700 900123");
        f.consent_sms = Some("yes".into());
        let m = f.validated().unwrap();
        assert_eq!(m.name, "Ada");
        assert_eq!(m.phone.unwrap().as_str(), "+447700900123");
        assert!(m.consent.sms && !m.consent.email);
        assert!(m.email.is_none());
    }
}
