//! What a Wallet device tells us about itself when it registers a pass for updates: the
//! device library identifier it chose and the APNs push token of the device.

use std::fmt;

use super::Invalid;

/// Chosen by the device at registration; the only credential of the "serials updated since"
/// call, so it is treated as a secret in logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DeviceLibraryId(String);

/// 1 to 128 letters, digits, `-`, `_` or `.`.
impl utoipa::PartialSchema for DeviceLibraryId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Za-z0-9._-]{1,128}$"))
            .examples(["a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8"])
            .into()
    }
}

impl utoipa::ToSchema for DeviceLibraryId {}

impl DeviceLibraryId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        // Real devices send 32 hex digits; other clients differ, so accept any short token
        // of URL-safe characters rather than one length.
        let ok = (1..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(DeviceLibraryId(s.to_string()))
        } else {
            Err(Invalid::new(
                "device_library_identifier",
                "must be 1 to 128 letters, digits, '-', '_' or '.'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceLibraryId {
    /// Only a prefix: the full value lets anyone list the device's updated passes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(6).collect();
        write!(f, "DeviceLibraryId({shown}…)")
    }
}

/// The device's APNs token, as the hex string Wallet sends. Apple does not promise a length,
/// so only the alphabet and a sane bound are checked. Stored in lower case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PushToken(String);

impl PushToken {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if (8..=200).contains(&s.len())
            && s.len() % 2 == 0
            && s.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Ok(PushToken(s.to_ascii_lowercase()))
        } else {
            Err(Invalid::new(
                "pushToken",
                "must be an even number (8 to 200) of hexadecimal digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(8).collect();
        write!(f, "PushToken({shown}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_library_ids() {
        assert!(DeviceLibraryId::parse("0123456789abcdef0123456789abcdef").is_ok());
        assert!(DeviceLibraryId::parse("").is_err());
        assert!(DeviceLibraryId::parse("a/b").is_err());
        assert!(DeviceLibraryId::parse(&"a".repeat(129)).is_err());
        let d = DeviceLibraryId::parse("abcdef0123456789").unwrap();
        assert!(!format!("{d:?}").contains("0123456789"));
    }

    #[test]
    fn push_tokens() {
        let t = PushToken::parse(&"AB".repeat(32)).unwrap();
        assert_eq!(t.as_str(), "ab".repeat(32));
        assert!(PushToken::parse("abc").is_err());
        assert!(PushToken::parse(&"zz".repeat(32)).is_err());
        assert!(PushToken::parse(&"a".repeat(63)).is_err());
        assert!(!format!("{t:?}").contains(&"ab".repeat(8)));
    }
}
