//! What is wrong with the signing identity (errors) or soon will be (warnings). Every message
//! names the file and the problem in plain words: the reader is an operator fixing settings.

use std::fmt;
use std::path::PathBuf;

use time::OffsetDateTime;

/// Why the signing identity cannot be used. Every message names the file and the problem, because
/// the reader is an operator fixing their configuration.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a PEM or DER certificate{hint}", .path.display())]
    NotCertificate { path: PathBuf, hint: &'static str },
    #[error(
        "{} is not a private key (expected an unencrypted PEM or DER key){hint}",
        .path.display()
    )]
    NotPrivateKey { path: PathBuf, hint: &'static str },
    #[error(
        "private key {} is protected by a passphrase; passwright needs it unencrypted \
         (openssl pkey -in <key> -out <new key>) or use a PKCS#12 file with a password",
        .path.display()
    )]
    EncryptedKey { path: PathBuf },
    #[error("{} is not a PKCS#12 (.p12) file", .path.display())]
    NotPkcs12 { path: PathBuf },
    #[error(
        "wrong password for PKCS#12 file {} (check PASSWRIGHT__APPLE__SIGNER_P12_PASSWORD)",
        .path.display()
    )]
    Pkcs12WrongPassword { path: PathBuf },
    #[error(
        "PKCS#12 file {} cannot be opened: {detail}; if it uses legacy encryption (older \
         Keychain exports), convert it: \
         openssl pkcs12 -legacy -in old.p12 -nodes | openssl pkcs12 -export -out new.p12",
        .path.display()
    )]
    Pkcs12Unreadable { path: PathBuf, detail: String },
    #[error("PKCS#12 file {} contains no {missing}", .path.display())]
    Pkcs12Incomplete {
        path: PathBuf,
        missing: &'static str,
    },
    #[error(
        "private key {} is not an RSA key; Apple Pass Type ID certificates use RSA",
        .path.display()
    )]
    NotRsa { path: PathBuf },
    #[error("private key {} does not match certificate {}", .key.display(), .cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "signer certificate {} has no UID (pass type identifier) in its subject; \
         is it a Pass Type ID certificate?",
        .path.display()
    )]
    NoPassTypeId { path: PathBuf },
    #[error(
        "signer certificate {} has no OU (team identifier) in its subject; \
         is it a Pass Type ID certificate?",
        .path.display()
    )]
    NoTeamId { path: PathBuf },
    #[error(
        "missing or wrong intermediate: {} did not issue signer certificate {} ({reason}); \
         download the WWDR intermediate that issued it (G4 for current certificates) \
         from Apple's PKI page",
        .wwdr.display(), .signer.display()
    )]
    WrongIntermediate {
        signer: PathBuf,
        wwdr: PathBuf,
        reason: String,
    },
    #[error("certificate {} expired on {}", .path.display(), fmt_date(*.not_after))]
    Expired {
        path: PathBuf,
        not_after: OffsetDateTime,
    },
    #[error("certificate {} is not valid before {}", .path.display(), fmt_date(*.not_before))]
    NotYetValid {
        path: PathBuf,
        not_before: OffsetDateTime,
    },
    #[error("intermediate certificate {} expired on {}", .path.display(), fmt_date(*.not_after))]
    IntermediateExpired {
        path: PathBuf,
        not_after: OffsetDateTime,
    },
    #[error(
        "signer certificate {} is for pass type id {in_cert:?}, but passes are configured with {expected:?}",
        .path.display()
    )]
    PassTypeIdMismatch {
        path: PathBuf,
        in_cert: String,
        expected: String,
    },
    #[error(
        "signer certificate {} belongs to team {in_cert:?}, but passes are configured with team {expected:?}",
        .path.display()
    )]
    TeamIdMismatch {
        path: PathBuf,
        in_cert: String,
        expected: String,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Something an operator should act on soon, but that does not stop passes from being signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertWarning {
    ExpiresSoon {
        path: PathBuf,
        not_after: OffsetDateTime,
        days_left: i64,
    },
    Expired {
        path: PathBuf,
        not_after: OffsetDateTime,
    },
    IntermediateNotG4 {
        path: PathBuf,
        subject: String,
    },
    NotPassTypeId {
        path: PathBuf,
        uid: String,
    },
}

impl fmt::Display for CertWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExpiresSoon { path, not_after, days_left } => write!(
                f,
                "certificate {} expires on {} ({days_left} days left); renew it in Apple's developer portal",
                path.display(),
                fmt_date(*not_after)
            ),
            Self::Expired { path, not_after } => {
                write!(f, "certificate {} expired on {}", path.display(), fmt_date(*not_after))
            }
            Self::IntermediateNotG4 { path, subject } => write!(
                f,
                "intermediate {} is not Apple's WWDR G4 (subject: {subject}); current Pass Type ID \
                 certificates are issued by G4",
                path.display()
            ),
            Self::NotPassTypeId { path, uid } => write!(
                f,
                "signer certificate {} has UID {uid:?}, which does not start with \"pass.\"; \
                 is it a Pass Type ID certificate?",
                path.display()
            ),
        }
    }
}

/// `2026-11-23 06:51:42 UTC`
pub(crate) fn fmt_date(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.to_string())
}
