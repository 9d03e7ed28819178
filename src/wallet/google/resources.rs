//! The walletobjects resources passwright writes, as types named after Google's discovery
//! document (`walletobjects.v1.json`): `LoyaltyClass`, `LoyaltyObject`, `Message` and the
//! parts they share. Only the fields we set are here.
//!
//! Each struct declares its fields in alphabetical order of their JSON keys. These resources
//! used to be built with `json!`, whose objects (serde_json without `preserve_order`) write
//! their keys sorted; serde writes a struct's fields in declaration order, so keeping that order
//! keeps what Google receives byte for byte what it was (the golden tests check it).

use serde::Serialize;

/// A loyalty program's class: what every card of the program shares.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyClass {
    /// `None` only in [`LoyaltyClass::essentials`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id_label: Option<String>,
    /// `None` only in [`LoyaltyClass::essentials`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name_label: Option<String>,
    /// Where Google posts save and delete callbacks, when they are enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_options: Option<CallbackOptions>,
    /// `None` only in [`LoyaltyClass::essentials`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hero_image: Option<Image>,
    pub hex_background_color: String,
    pub id: String,
    pub issuer_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links_module_data: Option<LinksModuleData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_account_id_label: Option<LocalizedString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_account_name_label: Option<LocalizedString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_issuer_name: Option<LocalizedString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_program_name: Option<LocalizedString>,
    pub program_logo: Image,
    pub program_name: String,
    pub review_status: ReviewStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text_modules_data: Vec<TextModuleData>,
}

impl LoyaltyClass {
    /// The class without what Google can do without: translations, labels, descriptions, the
    /// hero image and modules. For a save link that must carry the whole card and would not
    /// fit otherwise.
    pub fn essentials(&self) -> LoyaltyClass {
        LoyaltyClass {
            account_id_label: None,
            account_name_label: None,
            callback_options: self.callback_options.clone(),
            hero_image: None,
            hex_background_color: self.hex_background_color.clone(),
            id: self.id.clone(),
            issuer_name: self.issuer_name.clone(),
            links_module_data: None,
            localized_account_id_label: None,
            localized_account_name_label: None,
            localized_issuer_name: None,
            localized_program_name: None,
            program_logo: Image {
                content_description: None,
                source_uri: self.program_logo.source_uri.clone(),
            },
            program_name: self.program_name.clone(),
            review_status: self.review_status,
            text_modules_data: Vec::new(),
        }
    }
}

/// Google only lets issuers set `DRAFT` or `UNDER_REVIEW`; we always send the latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    UnderReview,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackOptions {
    pub url: String,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Always set, except in a class's essentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_description: Option<LocalizedString>,
    pub source_uri: ImageUri,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageUri {
    pub uri: String,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinksModuleData {
    pub uris: Vec<Uri>,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uri {
    pub description: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_description: Option<LocalizedString>,
    pub uri: String,
}

/// A text in the card details. `id` must not contain dots (Google uses them in field
/// references).
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextModuleData {
    pub body: String,
    pub header: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_body: Option<LocalizedString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_header: Option<LocalizedString>,
}

/// A text in the card's default language and its translations.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedString {
    pub default_value: TranslatedString,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub translated_values: Vec<TranslatedString>,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranslatedString {
    /// A BCP 47 language tag.
    pub language: String,
    pub value: String,
}

/// One member's card.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyObject {
    pub account_id: String,
    pub account_name: String,
    pub barcode: Barcode,
    pub class_id: String,
    pub id: String,
    pub loyalty_points: LoyaltyPoints,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_loyalty_points: Option<LoyaltyPoints>,
    pub state: State,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text_modules_data: Vec<TextModuleData>,
}

impl LoyaltyObject {
    /// The object without what Google can do without: translated labels and text modules.
    /// For a save link that must carry the whole card and would not fit otherwise.
    pub fn essentials(&self) -> LoyaltyObject {
        let plain = |points: &LoyaltyPoints| LoyaltyPoints {
            localized_label: None,
            ..points.clone()
        };
        LoyaltyObject {
            loyalty_points: plain(&self.loyalty_points),
            secondary_loyalty_points: self.secondary_loyalty_points.as_ref().map(plain),
            text_modules_data: Vec::new(),
            ..self.clone()
        }
    }
}

/// `INACTIVE` greys a card out and keeps it in the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Active,
    Inactive,
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyPoints {
    pub balance: LoyaltyPointsBalance,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localized_label: Option<LocalizedString>,
}

/// One of Google's balance forms, written as `{"int": n}` or `{"string": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoyaltyPointsBalance {
    Int(i32),
    String(String),
}

// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Barcode {
    pub alternate_text: String,
    pub r#type: BarcodeType,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BarcodeType {
    QrCode,
    #[serde(rename = "PDF_417")]
    Pdf417,
    Aztec,
}

/// A message added to an object with `addMessage`.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub body: String,
    pub header: String,
    pub id: String,
    pub message_type: MessageType,
}

/// `TEXT_AND_NOTIFY` also pushes a notification (Google allows 3 per object per 24 hours);
/// `TEXT` only adds the message to the card details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    Text,
    TextAndNotify,
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    /// serde writes fields in declaration order, a `serde_json::Value` in key order: equal
    /// bytes mean the struct (with every optional key present) declares its fields
    /// alphabetically.
    fn assert_key_order(resource: &impl Serialize) {
        let typed = serde_json::to_string(resource).unwrap();
        let sorted = serde_json::to_value(resource).unwrap().to_string();
        assert_eq!(typed, sorted);
    }

    fn localized(text: &str) -> Option<LocalizedString> {
        let value = |language: &str| TranslatedString {
            language: language.into(),
            value: text.into(),
        };
        Some(LocalizedString {
            default_value: value("en"),
            translated_values: vec![value("de")],
        })
    }

    fn module() -> TextModuleData {
        TextModuleData {
            body: "b".into(),
            header: "h".into(),
            id: "m".into(),
            localized_body: localized("b"),
            localized_header: localized("h"),
        }
    }

    fn points(balance: LoyaltyPointsBalance) -> LoyaltyPoints {
        LoyaltyPoints {
            balance,
            label: "Points".into(),
            localized_label: localized("Points"),
        }
    }

    #[test]
    fn fields_are_declared_in_key_order() {
        let image = Image {
            content_description: localized("logo"),
            source_uri: ImageUri {
                uri: "https://x.example/logo.png".into(),
            },
        };
        assert_key_order(&LoyaltyClass {
            account_id_label: Some("Member number".into()),
            account_name_label: Some("Member".into()),
            callback_options: Some(CallbackOptions {
                url: "https://x.example/callbacks".into(),
            }),
            hero_image: Some(image.clone()),
            hex_background_color: "#000000".into(),
            id: "1.prg".into(),
            issuer_name: "Issuer".into(),
            links_module_data: Some(LinksModuleData {
                uris: vec![Uri {
                    description: "Web".into(),
                    id: "web".into(),
                    localized_description: localized("Web"),
                    uri: "https://x.example".into(),
                }],
            }),
            localized_account_id_label: localized("Member number"),
            localized_account_name_label: localized("Member"),
            localized_issuer_name: localized("Issuer"),
            localized_program_name: localized("Program"),
            program_logo: image,
            program_name: "Program".into(),
            review_status: ReviewStatus::UnderReview,
            text_modules_data: vec![module()],
        });
        assert_key_order(&LoyaltyObject {
            account_id: "A1".into(),
            account_name: "Ada".into(),
            barcode: Barcode {
                alternate_text: "A1".into(),
                r#type: BarcodeType::QrCode,
                value: "PW1".into(),
            },
            class_id: "1.prg".into(),
            id: "1.serial".into(),
            loyalty_points: points(LoyaltyPointsBalance::Int(5)),
            secondary_loyalty_points: Some(points(LoyaltyPointsBalance::String("Gold".into()))),
            state: State::Active,
            text_modules_data: vec![module()],
        });
        assert_key_order(&Message {
            body: "b".into(),
            header: "h".into(),
            id: "m".into(),
            message_type: MessageType::TextAndNotify,
        });
    }
}
