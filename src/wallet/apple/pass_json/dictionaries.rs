//! The pass.json dictionaries Wallet reads (apple-pkpass.md sections 4 and 5), as types: the
//! pass, its barcode, the store card's field lists and a field.
//!
//! Each struct declares its fields in alphabetical order of their JSON keys. pass.json used to
//! be built with `json!`, whose objects (serde_json without `preserve_order`) write their keys
//! sorted; serde writes a struct's fields in declaration order, so keeping that order keeps
//! every pass byte for byte what it was (the golden tests in `package` check it).

use serde::Serialize;

/// The top-level dictionary of a store card pass.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pass<'a> {
    pub authentication_token: &'a str,
    pub background_color: String,
    pub barcodes: Vec<Barcode<'a>>,
    pub description: String,
    pub foreground_color: String,
    pub format_version: u8,
    pub label_color: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_text: Option<&'a str>,
    pub organization_name: &'a str,
    pub pass_type_identifier: &'a str,
    pub serial_number: &'a str,
    pub store_card: StoreCard<'a>,
    pub team_identifier: &'a str,
    /// Only written when true: Wallet greys the pass out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub voided: bool,
    /// Apple's spelling, which camelCase would not give.
    #[serde(rename = "webServiceURL")]
    pub web_service_url: &'a str,
}

/// One entry of `barcodes`.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Barcode<'a> {
    pub alt_text: String,
    pub format: BarcodeFormat,
    pub message: &'a str,
    pub message_encoding: MessageEncoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BarcodeFormat {
    #[serde(rename = "PKBarcodeFormatQR")]
    Qr,
    #[serde(rename = "PKBarcodeFormatPDF417")]
    Pdf417,
    #[serde(rename = "PKBarcodeFormatAztec")]
    Aztec,
}

/// The charset Wallet encodes `message` in; everyone uses ISO 8859-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MessageEncoding {
    #[serde(rename = "iso-8859-1")]
    Latin1,
}

/// The `storeCard` style dictionary: every list is written, empty or not.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreCard<'a> {
    pub auxiliary_fields: Vec<Field<'a>>,
    pub back_fields: Vec<Field<'a>>,
    pub header_fields: Vec<Field<'a>>,
    pub primary_fields: Vec<Field<'a>>,
    pub secondary_fields: Vec<Field<'a>>,
}

/// A field dictionary.
// Fields in alphabetical order of their keys, so the bytes stay the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Field<'a> {
    /// The lock-screen message for a change; contains `%@`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_message: Option<&'a str>,
    /// Back fields only; an empty list turns the detectors off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_detector_types: Option<Vec<DataDetectorType>>,
    /// With `time_style`, makes `value` a date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_style: Option<DateStyle>,
    pub key: &'a str,
    pub label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_style: Option<DateStyle>,
    pub value: FieldValue,
}

impl<'a> Field<'a> {
    /// A field with a key, label and value and nothing else.
    pub fn plain(key: &'a str, label: &'a str, value: FieldValue) -> Field<'a> {
        Field {
            change_message: None,
            data_detector_types: None,
            date_style: None,
            key,
            label,
            time_style: None,
            value,
        }
    }
}

/// A field's value: Wallet shows numbers and text (dates are text with a date style).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Number(i64),
    Text(String),
}

/// `PKDateStyle*`, for `dateStyle` and `timeStyle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DateStyle {
    #[serde(rename = "PKDateStyleNone")]
    None,
    #[serde(rename = "PKDateStyleMedium")]
    Medium,
}

/// `PKDataDetectorType*`: what Wallet turns into links on a back field. We send none of them
/// (an empty list), so a member number is not offered as a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DataDetectorType {
    #[serde(rename = "PKDataDetectorTypePhoneNumber")]
    PhoneNumber,
    #[serde(rename = "PKDataDetectorTypeLink")]
    Link,
    #[serde(rename = "PKDataDetectorTypeAddress")]
    Address,
    #[serde(rename = "PKDataDetectorTypeCalendarEvent")]
    CalendarEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde writes fields in declaration order, a `serde_json::Value` in key order: equal
    /// bytes mean every struct above (with each optional key present) declares its fields
    /// alphabetically.
    #[test]
    fn fields_are_declared_in_key_order() {
        let field = Field {
            change_message: Some("Now %@"),
            data_detector_types: Some(vec![DataDetectorType::Link]),
            date_style: Some(DateStyle::Medium),
            key: "k",
            label: "l",
            time_style: Some(DateStyle::None),
            value: FieldValue::Number(1),
        };
        let pass = Pass {
            authentication_token: "t",
            background_color: "rgb(0, 0, 0)".into(),
            barcodes: vec![Barcode {
                alt_text: "a".into(),
                format: BarcodeFormat::Qr,
                message: "m",
                message_encoding: MessageEncoding::Latin1,
            }],
            description: "d".into(),
            foreground_color: "rgb(1, 1, 1)".into(),
            format_version: 1,
            label_color: "rgb(2, 2, 2)".into(),
            logo_text: Some("logo"),
            organization_name: "o",
            pass_type_identifier: "pass.x",
            serial_number: "s",
            store_card: StoreCard {
                auxiliary_fields: vec![field.clone()],
                back_fields: vec![field.clone()],
                header_fields: vec![field.clone()],
                primary_fields: vec![field.clone()],
                secondary_fields: vec![field],
            },
            team_identifier: "T",
            voided: true,
            web_service_url: "https://w",
        };
        let typed = serde_json::to_string(&pass).unwrap();
        let sorted = serde_json::to_value(&pass).unwrap().to_string();
        assert_eq!(typed, sorted);
    }
}
