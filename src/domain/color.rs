//! Colours, accepted as `#rrggbb`, `#rgb` or `rgb(r, g, b)`; Apple wants the `rgb()` form,
//! Google the hex form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl utoipa::PartialSchema for Rgb {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A colour. Accepted as `#rrggbb`, `#rgb` or `rgb(r, g, b)`; always answered as \
                 lower-case `#rrggbb`.",
            ))
            .examples(["#212529", "#fff", "rgb(33, 37, 41)"])
            .into()
    }
}

/// Named `Color` in the API's document.
impl utoipa::ToSchema for Rgb {
    fn name() -> std::borrow::Cow<'static, str> {
        "Color".into()
    }
}

impl Rgb {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = || {
            Invalid::new(
                "",
                format!("{s:?} is not a colour; use #rrggbb or rgb(r, g, b)"),
            )
        };
        let s = s.trim();
        if let Some(hex) = s.strip_prefix('#') {
            let digits: Vec<u8> = hex
                .chars()
                .map(|c| c.to_digit(16).map(|d| d as u8))
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            return match digits.as_slice() {
                [r, g, b] => Ok(Rgb(r * 17, g * 17, b * 17)),
                [r1, r2, g1, g2, b1, b2] => Ok(Rgb(r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2)),
                _ => Err(bad()),
            };
        }
        let inner = s
            .strip_prefix("rgb(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(bad)?;
        let parts: Vec<u8> = inner
            .split(',')
            .map(|p| p.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        match parts.as_slice() {
            [r, g, b] => Ok(Rgb(*r, *g, *b)),
            _ => Err(bad()),
        }
    }

    /// `rgb(r, g, b)`, the form pass.json documents.
    pub fn apple(&self) -> String {
        format!("rgb({}, {}, {})", self.0, self.1, self.2)
    }

    /// `#rrggbb`.
    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2 relative luminance, 0 (black) to 1 (white).
    pub fn luminance(&self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }

    /// WCAG 2 contrast ratio with `other`, 1 (none) to 21 (black on white). Text needs 4.5.
    pub fn contrast(&self, other: &Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

/// WCAG 2's least contrast for normal text (level AA).
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

impl Serialize for Rgb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rgb::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn contrast_follows_wcag() {
        let (black, white) = (Rgb(0, 0, 0), Rgb(255, 255, 255));
        assert!((black.contrast(&white) - 21.0).abs() < 1e-9);
        assert!((white.contrast(&white) - 1.0).abs() < 1e-9);
        // #777777 on white is WCAG's well-known near miss: 4.48.
        let grey = Rgb(0x77, 0x77, 0x77);
        assert!(
            (grey.contrast(&white) - 4.48).abs() < 0.01,
            "{}",
            grey.contrast(&white)
        );
        assert!(grey.contrast(&white) < MIN_TEXT_CONTRAST);
        assert_eq!(grey.contrast(&white), white.contrast(&grey));
    }

    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(Rgb::parse("#1a2B3c").unwrap(), Rgb(0x1a, 0x2b, 0x3c));
        assert_eq!(Rgb::parse("#fff").unwrap(), Rgb(255, 255, 255));
        assert_eq!(Rgb::parse("rgb(1, 2,3)").unwrap(), Rgb(1, 2, 3));
        assert_eq!(Rgb(1, 2, 3).apple(), "rgb(1, 2, 3)");
        assert_eq!(Rgb(1, 2, 3).hex(), "#010203");
        for bad in ["", "#12", "#ggg", "rgb(1,2)", "rgb(256,0,0)", "red"] {
            assert!(Rgb::parse(bad).is_err(), "{bad}");
        }
    }
}
