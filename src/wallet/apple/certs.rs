//! The Pass Type ID signing identity: reading the certificate, key and Apple WWDR intermediate,
//! checking that they belong together, and signing `manifest.json` with them.
//!
//! Everything expensive (parsing PEM/DER/PKCS#12, building the certificate stack) happens once in
//! [`PassSigner::load`]; [`PassSigner::sign_manifest`] is on the per-pass hot path and only signs.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::{X509NameRef, X509Ref, X509VerifyResult, X509};
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use time::OffsetDateTime;

use super::package::PackageError;

/// Warn this many days before a certificate expires.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// Where the signer identity comes from: separate PEM/DER files, or a `.p12` exported from Keychain.
#[derive(Debug, Clone)]
pub enum SignerFiles {
    Pem { cert: PathBuf, key: PathBuf },
    Pkcs12 { path: PathBuf, password: SecretString },
}

/// The files named in settings (`[apple]` section / `PASSWRIGHT__APPLE__*`).
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub signer: SignerFiles,
    pub wwdr: PathBuf,
}

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
    #[error("{} is not a private key (expected an unencrypted PEM or DER key){hint}", .path.display())]
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
        "PKCS#12 file {} cannot be opened: {detail}; if it uses legacy encryption (older Keychain \
         exports), convert it: openssl pkcs12 -legacy -in old.p12 -nodes | openssl pkcs12 -export -out new.p12",
        .path.display()
    )]
    Pkcs12Unreadable { path: PathBuf, detail: String },
    #[error("PKCS#12 file {} contains no {missing}", .path.display())]
    Pkcs12Incomplete { path: PathBuf, missing: &'static str },
    #[error("private key {} does not match certificate {}", .key.display(), .cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "signer certificate {} has no UID (pass type identifier) in its subject; is it a Pass Type ID certificate?",
        .path.display()
    )]
    NoPassTypeId { path: PathBuf },
    #[error(
        "signer certificate {} has no OU (team identifier) in its subject; is it a Pass Type ID certificate?",
        .path.display()
    )]
    NoTeamId { path: PathBuf },
    #[error(
        "missing or wrong intermediate: {} did not issue signer certificate {} ({reason}); \
         download the WWDR intermediate that issued it (G4 for current certificates) from Apple's PKI page",
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

/// A validated Pass Type ID identity, parsed once and shared by every pass build.
pub struct PassSigner {
    cert: X509,
    key: PKey<Private>,
    wwdr: X509,
    /// The certificates embedded next to the signer in every signature (just the intermediate).
    extra_certs: Stack<X509>,
    pass_type_id: String,
    team_id: String,
    not_after: OffsetDateTime,
    wwdr_not_after: OffsetDateTime,
    cert_pem: Vec<u8>,
    key_pem: SecretSlice<u8>,
    cert_path: PathBuf,
    wwdr_path: PathBuf,
}

impl fmt::Debug for PassSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassSigner")
            .field("pass_type_id", &self.pass_type_id)
            .field("team_id", &self.team_id)
            .field("not_after", &self.not_after)
            .field("cert_path", &self.cert_path)
            .field("wwdr_path", &self.wwdr_path)
            .finish_non_exhaustive()
    }
}

impl PassSigner {
    /// Reads and validates the configured files, checking validity dates against the current time.
    pub fn load(files: &CertFiles) -> Result<PassSigner, CertError> {
        Self::load_at(files, OffsetDateTime::now_utc())
    }

    /// Reads and validates the configured files, checking validity dates against `now`.
    pub fn load_at(files: &CertFiles, now: OffsetDateTime) -> Result<PassSigner, CertError> {
        let (cert, key, cert_path, key_path) = match &files.signer {
            SignerFiles::Pem { cert, key } => (
                parse_cert(cert, &read(cert)?)?,
                parse_key(key, &read(key)?)?,
                cert.clone(),
                key.clone(),
            ),
            SignerFiles::Pkcs12 { path, password } => {
                let (cert, key) = parse_pkcs12(path, &read(path)?, password)?;
                (cert, key, path.clone(), path.clone())
            }
        };
        let wwdr = parse_cert(&files.wwdr, &read(&files.wwdr)?)?;
        Self::validate(cert, key, wwdr, cert_path, key_path, files.wwdr.clone(), now)
    }

    /// The same checks as [`PassSigner::load_at`] for PEM bytes already in memory (tests, dev PKI).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8], wwdr_pem: &[u8]) -> Result<PassSigner, CertError> {
        Self::from_pem_at(cert_pem, key_pem, wwdr_pem, OffsetDateTime::now_utc())
    }

    pub fn from_pem_at(
        cert_pem: &[u8],
        key_pem: &[u8],
        wwdr_pem: &[u8],
        now: OffsetDateTime,
    ) -> Result<PassSigner, CertError> {
        let (cert_path, key_path, wwdr_path) = (
            PathBuf::from("<memory: signer certificate>"),
            PathBuf::from("<memory: signer key>"),
            PathBuf::from("<memory: intermediate>"),
        );
        let cert = parse_cert(&cert_path, cert_pem)?;
        let key = parse_key(&key_path, key_pem)?;
        let wwdr = parse_cert(&wwdr_path, wwdr_pem)?;
        Self::validate(cert, key, wwdr, cert_path, key_path, wwdr_path, now)
    }

    fn validate(
        cert: X509,
        key: PKey<Private>,
        wwdr: X509,
        cert_path: PathBuf,
        key_path: PathBuf,
        wwdr_path: PathBuf,
        now: OffsetDateTime,
    ) -> Result<PassSigner, CertError> {
        let public = cert.public_key().context("reading the signer certificate's public key")?;
        if !public.public_eq(&key) {
            return Err(CertError::KeyMismatch { cert: cert_path, key: key_path });
        }
        if let Some(reason) = issue_problem(&wwdr, &cert)? {
            return Err(CertError::WrongIntermediate { signer: cert_path, wwdr: wwdr_path, reason });
        }
        let Some(pass_type_id) = subject_entry(&cert, Nid::USERID) else {
            return Err(CertError::NoPassTypeId { path: cert_path });
        };
        let Some(team_id) = subject_entry(&cert, Nid::ORGANIZATIONALUNITNAME) else {
            return Err(CertError::NoTeamId { path: cert_path });
        };

        let (not_before, not_after) = (to_datetime(cert.not_before())?, to_datetime(cert.not_after())?);
        let (wwdr_not_before, wwdr_not_after) = (to_datetime(wwdr.not_before())?, to_datetime(wwdr.not_after())?);
        if now >= not_after {
            return Err(CertError::Expired { path: cert_path, not_after });
        }
        if now < not_before {
            return Err(CertError::NotYetValid { path: cert_path, not_before });
        }
        if now >= wwdr_not_after {
            return Err(CertError::IntermediateExpired { path: wwdr_path, not_after: wwdr_not_after });
        }
        if now < wwdr_not_before {
            return Err(CertError::NotYetValid { path: wwdr_path, not_before: wwdr_not_before });
        }

        let mut extra_certs = Stack::new().context("allocating the certificate stack")?;
        extra_certs.push(wwdr.clone()).context("building the certificate stack")?;
        let cert_pem = cert.to_pem().context("encoding the signer certificate")?;
        let key_pem = key.private_key_to_pem_pkcs8().context("encoding the signer key")?;
        Ok(PassSigner {
            cert,
            key,
            wwdr,
            extra_certs,
            pass_type_id,
            team_id,
            not_after,
            wwdr_not_after,
            cert_pem,
            key_pem: key_pem.into(),
            cert_path,
            wwdr_path,
        })
    }

    /// The subject UID, which `pass.json`'s `passTypeIdentifier` must equal.
    pub fn pass_type_id(&self) -> &str {
        &self.pass_type_id
    }

    /// The subject OU, which `pass.json`'s `teamIdentifier` must equal.
    pub fn team_id(&self) -> &str {
        &self.team_id
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Problems worth a log line at start-up and in `passwright certs check`.
    pub fn check(&self, now: OffsetDateTime) -> Vec<CertWarning> {
        let mut warnings = Vec::new();
        for (path, not_after) in [(&self.cert_path, self.not_after), (&self.wwdr_path, self.wwdr_not_after)] {
            let days_left = (not_after - now).whole_days();
            if now >= not_after {
                warnings.push(CertWarning::Expired { path: path.clone(), not_after });
            } else if days_left < EXPIRY_WARNING_DAYS {
                warnings.push(CertWarning::ExpiresSoon { path: path.clone(), not_after, days_left });
            }
        }
        // Apple's current intermediate for Pass Type IDs is WWDR G4; G1 expired in 2023.
        if subject_entry(&self.wwdr, Nid::ORGANIZATIONALUNITNAME).as_deref() != Some("G4") {
            warnings.push(CertWarning::IntermediateNotG4 {
                path: self.wwdr_path.clone(),
                subject: dn_string(self.wwdr.subject_name()),
            });
        }
        if !self.pass_type_id.starts_with("pass.") {
            warnings.push(CertWarning::NotPassTypeId { path: self.cert_path.clone(), uid: self.pass_type_id.clone() });
        }
        warnings
    }

    /// Wallet rejects a pass whose `passTypeIdentifier` / `teamIdentifier` differ from the signer's
    /// UID / OU, so a mismatch with the configured values is fatal at start-up.
    pub fn ensure_matches(&self, pass_type_id: &str, team_id: &str) -> Result<(), CertError> {
        if self.pass_type_id != pass_type_id {
            return Err(CertError::PassTypeIdMismatch {
                path: self.cert_path.clone(),
                in_cert: self.pass_type_id.clone(),
                expected: pass_type_id.to_owned(),
            });
        }
        if self.team_id != team_id {
            return Err(CertError::TeamIdMismatch {
                path: self.cert_path.clone(),
                in_cert: self.team_id.clone(),
                expected: team_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Detached PKCS#7 signature (DER) over the exact `manifest.json` bytes, embedding the WWDR
    /// intermediate. BINARY stops OpenSSL's MIME canonicalisation (LF -> CRLF), which would break
    /// the digest; signed attributes stay on because Wallet needs `signingTime`.
    pub fn sign_manifest(&self, manifest: &[u8]) -> Result<Vec<u8>, PackageError> {
        let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY;
        Pkcs7::sign(&self.cert, &self.key, &self.extra_certs, manifest, flags)
            .and_then(|signed| signed.to_der())
            .map_err(PackageError::Sign)
    }

    /// The signer certificate as PEM (the APNs TLS client certificate is the same one).
    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The signer key as PKCS#8 PEM, for the APNs TLS client identity. Never log it.
    pub fn key_pem(&self) -> &SecretSlice<u8> {
        &self.key_pem
    }

    pub fn certificate(&self) -> &X509Ref {
        &self.cert
    }

    pub fn private_key(&self) -> &PKey<Private> {
        &self.key
    }

    pub fn intermediate(&self) -> &X509Ref {
        &self.wwdr
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read { path: path.to_owned(), source })
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn contains(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// Apple hands out DER `.cer` files; people convert them to PEM. Accept both.
fn parse_cert(path: &Path, bytes: &[u8]) -> Result<X509, CertError> {
    let parsed = if looks_like_pem(bytes) { X509::from_pem(bytes) } else { X509::from_der(bytes) };
    parsed.map_err(|_| CertError::NotCertificate {
        path: path.to_owned(),
        hint: if contains(bytes, b"PRIVATE KEY-----") {
            " (it holds a private key; are the certificate and key settings swapped?)"
        } else if bytes.starts_with(&[0x30]) && Pkcs12::from_der(bytes).is_ok() {
            " (it is a PKCS#12 bundle; configure it as PASSWRIGHT__APPLE__SIGNER_P12)"
        } else {
            ""
        },
    })
}

fn parse_key(path: &Path, bytes: &[u8]) -> Result<PKey<Private>, CertError> {
    if looks_like_pem(bytes) && contains(bytes, b"ENCRYPTED") {
        return Err(CertError::EncryptedKey { path: path.to_owned() });
    }
    let parsed = if looks_like_pem(bytes) {
        // A callback that supplies no passphrase: OpenSSL's default would prompt on the terminal.
        PKey::private_key_from_pem_callback(bytes, |_| Ok(0))
    } else {
        PKey::private_key_from_der(bytes)
    };
    parsed.map_err(|_| CertError::NotPrivateKey {
        path: path.to_owned(),
        hint: if contains(bytes, b"CERTIFICATE-----") {
            " (it holds a certificate; are the certificate and key settings swapped?)"
        } else {
            ""
        },
    })
}

fn parse_pkcs12(path: &Path, bytes: &[u8], password: &SecretString) -> Result<(X509, PKey<Private>), CertError> {
    let p12 = Pkcs12::from_der(bytes).map_err(|_| CertError::NotPkcs12 { path: path.to_owned() })?;
    let parsed = p12.parse2(password.expose_secret()).map_err(|e| {
        if e.errors().iter().any(|e| e.reason() == Some("mac verify failure")) {
            CertError::Pkcs12WrongPassword { path: path.to_owned() }
        } else {
            CertError::Pkcs12Unreadable { path: path.to_owned(), detail: e.to_string() }
        }
    })?;
    let incomplete = |missing| CertError::Pkcs12Incomplete { path: path.to_owned(), missing };
    let cert = parsed.cert.ok_or_else(|| incomplete("certificate"))?;
    let key = parsed.pkey.ok_or_else(|| incomplete("private key"))?;
    Ok((cert, key))
}

/// `None` if `issuer` issued `cert` (names and key identifiers agree and the signature verifies).
fn issue_problem(issuer: &X509Ref, cert: &X509Ref) -> Result<Option<String>, CertError> {
    let checked = issuer.issued(cert);
    if checked != X509VerifyResult::OK {
        return Ok(Some(format!(
            "{}; signer issuer is \"{}\", intermediate subject is \"{}\"",
            checked.error_string(),
            dn_string(cert.issuer_name()),
            dn_string(issuer.subject_name())
        )));
    }
    let key = issuer.public_key().context("reading the intermediate's public key")?;
    // An error here means the algorithms do not even fit together; that is a mismatch too.
    if !cert.verify(&key).unwrap_or(false) {
        return Ok(Some("the signer's signature does not verify with the intermediate's key".to_owned()));
    }
    Ok(None)
}

fn subject_entry(cert: &X509Ref, nid: Nid) -> Option<String> {
    let entry = cert.subject_name().entries_by_nid(nid).next()?;
    let value = entry.data().to_string().ok()?;
    (!value.trim().is_empty()).then_some(value)
}

pub(crate) fn dn_string(name: &X509NameRef) -> String {
    name.entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?");
            let value = entry.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn to_datetime(t: &Asn1TimeRef) -> Result<OffsetDateTime, anyhow::Error> {
    let since_epoch = Asn1Time::from_unix(0)?.diff(t)?;
    let secs = i64::from(since_epoch.days) * 86_400 + i64::from(since_epoch.secs);
    Ok(OffsetDateTime::from_unix_timestamp(secs)?)
}

pub(crate) fn fmt_date(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| t.to_string())
}
