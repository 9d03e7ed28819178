//! Identifiers: a short type prefix and random base32, so ids cannot be enumerated and a
//! member id is never mistaken for a program id.

use std::fmt;

use serde::Serialize;

use super::Invalid;
use crate::clock::Random;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Lower-case RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

pub fn is_base32(s: &str) -> bool {
    s.bytes().all(|b| ALPHABET.contains(&b))
}

/// `len` random bytes as base32.
pub fn random_base32(rng: &dyn Random, len: usize) -> String {
    let mut buf = vec![0u8; len];
    rng.fill(&mut buf);
    base32(&buf)
}

/// The schema of an id with `prefix`, for the API's document.
fn id_schema(prefix: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(format!("^{prefix}[a-z2-7]{{16}}$")))
        .examples([format!("{prefix}q4kzt7xw2mbd5hna")])
        .into()
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate(rng: &dyn Random) -> Self {
                $name(format!("{}{}", $prefix, random_base32(rng, 10)))
            }

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s.strip_prefix($prefix) {
                    Some(rest) if rest.len() == 16 && is_base32(rest) => Ok($name(s.to_string())),
                    _ => Err(Invalid::new("id", format!("not a valid {} id", stringify!($name)))),
                }
            }

            /// For values read back from our own database.
            pub fn from_trusted(s: String) -> Self {
                $name(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// A string of the prefix and 16 base32 characters.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                id_schema($prefix)
            }
        }

        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// A person who signs in to the console.
    UserId,
    "usr_"
);
typed_id!(
    /// A loyalty program.
    ProgramId,
    "prg_"
);
typed_id!(
    /// A member of one program.
    MemberId,
    "mem_"
);
typed_id!(
    /// A reward in a program's catalogue.
    RewardId,
    "rwd_"
);
typed_id!(
    /// An API key (the id, not the secret).
    ApiKeyId,
    "key_"
);
typed_id!(
    /// A place where a program's cards are scanned (a shop, a till).
    LocationId,
    "loc_"
);
typed_id!(
    /// A file of members uploaded in the console to import.
    ImportId,
    "imp_"
);
typed_id!(
    /// A program's webhook endpoint.
    WebhookId,
    "whk_"
);
typed_id!(
    /// One event sent to webhook endpoints; receivers use it to drop repeats.
    EventId,
    "evt_"
);
typed_id!(
    /// A marketing campaign: its links, messages and what they produced.
    CampaignId,
    "cmp_"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "my");
    }

    #[test]
    fn ids_round_trip_and_reject_other_kinds() {
        let id = MemberId::generate(&OsRandom);
        assert_eq!(MemberId::parse(id.as_str()).unwrap(), id);
        assert!(ProgramId::parse(id.as_str()).is_err());
        assert!(MemberId::parse("mem_1").is_err());
        assert!(MemberId::parse("mem_AAAAAAAAAAAAAAAA").is_err());
        assert_ne!(MemberId::generate(&OsRandom), id);
    }
}
