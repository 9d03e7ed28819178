//! BCP 47 language tags as Wallet uses them for `.lproj` folders (`en`, `de`, `zh-Hans`, `pt-BR`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::Invalid;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl utoipa::PartialSchema for Language {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A BCP 47 language tag as Wallet uses it: a 2 or 3 letter lower-case primary \
                 subtag, then optional `-` subtags of 2 to 8 letters or digits.",
            ))
            .pattern(Some("^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"))
            .examples(["en", "de", "zh-Hans", "pt-BR"])
            .into()
    }
}

impl utoipa::ToSchema for Language {}

impl Language {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let mut parts = s.split('-');
        let primary = parts.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
        let rest_ok = parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if primary_ok && rest_ok {
            Ok(Language(s.to_string()))
        } else {
            Err(Invalid::new(
                "",
                format!("{s:?} is not a language tag such as en, de or pt-BR"),
            ))
        }
    }

    pub fn english() -> Self {
        Language("en".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Language::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        for ok in ["en", "de", "zh-Hans", "pt-BR", "gsw"] {
            assert!(Language::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "EN", "e", "en_US", "de-", "../x"] {
            assert!(Language::parse(bad).is_err(), "{bad}");
        }
    }
}
