//! Contact details: e-mail addresses and phone numbers in E.164.

use std::fmt;

use serde::Serialize;

use super::Invalid;

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl utoipa::PartialSchema for EmailAddress {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Email,
            )))
            .into()
    }
}

impl utoipa::ToSchema for EmailAddress {}

impl EmailAddress {
    /// A pragmatic check, not RFC 5322: one `@`, a non-empty local part, a domain with a dot,
    /// no spaces. The domain is lower-cased; the local part is kept as given.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let bad = || Invalid::new("email", "is not a valid e-mail address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 (`+` and 8 to 15 digits). Spaces, dashes, dots and brackets in
/// the input are dropped; a number without the country code is refused, since SMS providers
/// need it.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl utoipa::PartialSchema for PhoneNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("E.164."))
            .examples(["+4915112345678"])
            .into()
    }
}

impl utoipa::ToSchema for PhoneNumber {}

impl PhoneNumber {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let digits_part = s.strip_prefix('+').ok_or_else(|| {
            Invalid::new(
                "phone",
                "must start with + and the country code, e.g. +4915112345678",
            )
        })?;
        let mut digits = String::with_capacity(16);
        for c in digits_part.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(Invalid::new("phone", "may only contain digits after the +")),
            }
        }
        if digits.len() < 8 || digits.len() > 15 || digits.starts_with('0') {
            return Err(Invalid::new(
                "phone",
                "must have 8 to 15 digits after the + (E.164)",
            ));
        }
        Ok(PhoneNumber(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Personal data stays out of logs even through `{:?}`.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(..)")
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse(" Ada@Example.COM ").unwrap().as_str(),
            "Ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "a b@x.com",
            "a@b",
            "a@b..c",
            "a@@b.c",
            "a@.b.c",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            PhoneNumber::parse("+49 151 1234-5678").unwrap().as_str(),
            "+4915112345678"
        );
        for bad in [
            "015112345678",
            "+12",
            "+49x151",
            "+0151234567",
            "+1234567890123456",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_personal_data() {
        let e = EmailAddress::parse("ada@example.com").unwrap();
        assert!(!format!("{e:?}").contains("ada"));
    }
}
