//! Points, purchase amounts and earn rates. Integers and fixed point only: no floating
//! point ever touches a balance.

use serde::{Deserialize, Deserializer, Serialize};

use super::Invalid;

/// The most points one ledger entry or one reward may move. Far below `i64::MAX`, so sums
/// over millions of entries cannot overflow.
pub const MAX_POINTS: i64 = 1_000_000_000;

/// A signed number of points within ±[`MAX_POINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Points(i64);

impl Points {
    pub fn new(n: i64) -> Result<Self, Invalid> {
        if (-MAX_POINTS..=MAX_POINTS).contains(&n) {
            Ok(Points(n))
        } else {
            Err(Invalid::new(
                "points",
                format!("must be between -{MAX_POINTS} and {MAX_POINTS}"),
            ))
        }
    }

    /// A strictly positive amount, e.g. a reward cost.
    pub fn positive(n: i64) -> Result<Self, Invalid> {
        match Points::new(n)? {
            p if p.0 > 0 => Ok(p),
            _ => Err(Invalid::new("points", "must be greater than zero")),
        }
    }

    pub fn zero() -> Self {
        Points(0)
    }

    pub fn value(self) -> i64 {
        self.0
    }
}

/// A decimal with up to `SCALE` digits after the point, parsed from a JSON number or string.
fn parse_fixed(field: &str, s: &str, scale: u32, max_whole: i128) -> Result<i128, Invalid> {
    let bad = || {
        Invalid::new(
            field,
            format!("{s:?} is not a decimal number with at most {scale} decimals"),
        )
    };
    let s = s.trim();
    if s.starts_with('-') {
        return Err(Invalid::new(field, "must not be negative"));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > scale as usize
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (s.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let whole: i128 = whole.parse().map_err(|_| bad())?;
    if whole > max_whole {
        return Err(Invalid::new(field, format!("must be at most {max_whole}")));
    }
    let mut frac_value: i128 = 0;
    for i in 0..scale as usize {
        let digit = frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
        frac_value = frac_value * 10 + digit;
    }
    Ok(whole * 10i128.pow(scale) + frac_value)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(serde_json::Number),
    Text(String),
}

impl NumberOrString {
    fn text(self) -> String {
        match self {
            NumberOrString::Number(n) => n.to_string(),
            NumberOrString::Text(s) => s,
        }
    }
}

/// A purchase amount in minor units (cents), given as `12.5`, `"12.50"` or `"12"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    minor: i64,
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^\s*[0-9]{1,12}(\.[0-9]{1,2})?\s*$")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0))
                    .maximum(Some(10_000_000)),
            )
            .description(Some(
                "A purchase amount in the program's currency: a non-negative decimal with at \
                 most 2 decimals and at most 10000000, as a JSON number or a string (`12.5`, \
                 `\"12.50\"`, `\"12\"`). Strings must be plain decimals (no sign, no exponent).",
            ))
            .examples([serde_json::json!("12.50"), serde_json::json!(12.5)])
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

impl Amount {
    const MAX_WHOLE: i128 = 10_000_000;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let minor = parse_fixed("amount", s, 2, Self::MAX_WHOLE)?;
        Ok(Amount {
            minor: i64::try_from(minor).map_err(|_| Invalid::new("amount", "is too large"))?,
        })
    }

    pub fn minor_units(self) -> i64 {
        self.minor
    }

    pub fn to_decimal_string(self) -> String {
        format!("{}.{:02}", self.minor / 100, self.minor % 100)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = NumberOrString::deserialize(d)?.text();
        Amount::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_decimal_string())
    }
}

/// A non-negative rate with three decimals (points per currency unit, a multiplier):
/// `1`, `1.5`, `0.125`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate {
    thousandths: i64,
}

impl utoipa::PartialSchema for Rate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^\s*[0-9]{1,12}(\.[0-9]{1,3})?\s*$")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0))
                    .maximum(Some(1000)),
            )
            .description(Some(
                "A non-negative decimal with at most 3 decimals and at most 1000, as a JSON \
                 number or a string. Answered as a string without trailing zeros (`\"1\"`, \
                 `\"1.5\"`, `\"0.125\"`).",
            ))
            .examples([serde_json::json!("1.5"), serde_json::json!(2)])
            .into()
    }
}

impl utoipa::ToSchema for Rate {}

impl Rate {
    const MAX_WHOLE: i128 = 1_000;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let t = parse_fixed("rate", s, 3, Self::MAX_WHOLE)?;
        Ok(Rate {
            thousandths: i64::try_from(t).map_err(|_| Invalid::new("rate", "is too large"))?,
        })
    }

    pub fn one() -> Self {
        Rate { thousandths: 1_000 }
    }

    pub fn thousandths(self) -> i64 {
        self.thousandths
    }

    pub fn is_zero(self) -> bool {
        self.thousandths == 0
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = NumberOrString::deserialize(d)?.text();
        Rate::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let whole = self.thousandths / 1000;
        let frac = self.thousandths % 1000;
        let text = if frac == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{frac:03}")
                .trim_end_matches('0')
                .to_string()
        };
        s.serialize_str(&text)
    }
}

/// Points for `amount` at `per_unit` points per currency unit times `multiplier`, rounded
/// down: a customer never gets a fraction, and never more than the rule says.
pub fn points_for(amount: Amount, per_unit: Rate, multiplier: Rate) -> Result<Points, Invalid> {
    let product = i128::from(amount.minor)
        * i128::from(per_unit.thousandths)
        * i128::from(multiplier.thousandths);
    let points = product / (100 * 1_000 * 1_000);
    Points::new(i64::try_from(points).map_err(|_| Invalid::new("amount", "earns too many points"))?)
        .map_err(|_| Invalid::new("amount", "earns more points than one entry may hold"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_bounds() {
        assert!(Points::new(MAX_POINTS).is_ok());
        assert!(Points::new(MAX_POINTS + 1).is_err());
        assert!(Points::new(-MAX_POINTS - 1).is_err());
        assert!(Points::positive(0).is_err());
    }

    #[test]
    fn amounts() {
        assert_eq!(Amount::parse("12.5").unwrap().minor_units(), 1250);
        assert_eq!(Amount::parse("12").unwrap().minor_units(), 1200);
        assert_eq!(Amount::parse("0.07").unwrap().minor_units(), 7);
        for bad in ["-1", "1.234", "abc", "", "1.", ".5", "1e3", "99999999999"] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
        let a: Amount = serde_json::from_str("12.34").unwrap();
        assert_eq!(a.minor_units(), 1234);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"12.34\"");
    }

    #[test]
    fn rates_and_points() {
        let one = Rate::one();
        let double = Rate::parse("2").unwrap();
        let a = Amount::parse("12.99").unwrap();
        assert_eq!(points_for(a, one, one).unwrap().value(), 12);
        assert_eq!(points_for(a, one, double).unwrap().value(), 25);
        assert_eq!(
            points_for(a, Rate::parse("1.5").unwrap(), one)
                .unwrap()
                .value(),
            19
        );
        assert_eq!(
            serde_json::to_string(&Rate::parse("1.250").unwrap()).unwrap(),
            "\"1.25\""
        );
        assert!(Rate::parse("1001").is_err());
        let huge = Amount::parse("10000000").unwrap();
        assert!(points_for(
            huge,
            Rate::parse("1000").unwrap(),
            Rate::parse("1000").unwrap()
        )
        .is_err());
    }
}
