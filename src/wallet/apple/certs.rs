//! The Pass Type ID signing identity: reading the certificate, key and Apple WWDR intermediate,
//! checking that they belong together, and signing `manifest.json` with them.
//!
//! Everything expensive (parsing PEM/DER/PKCS#12, encoding the signature's constant parts)
//! happens once in [`PassSigner::load`]; [`PassSigner::sign_manifest`] is on the per-pass hot
//! path and only signs.

pub mod devca;
mod error;
pub mod identity;
mod read;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::{X509Ref, X509};
use secrecy::{SecretSlice, SecretString};
use time::OffsetDateTime;

use super::signature::SignedDataTemplate;
pub use error::{CertError, CertWarning};
pub(crate) use read::dn_string;
use read::{issue_problem, parse_cert, parse_key, parse_pkcs12, read, subject_entry, to_datetime};

/// Warn this many days before a certificate expires.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// Where the signer identity comes from: separate PEM/DER files, or a `.p12` exported from
/// Keychain.
#[derive(Debug, Clone)]
pub enum SignerFiles {
    Pem {
        cert: PathBuf,
        key: PathBuf,
    },
    Pkcs12 {
        path: PathBuf,
        password: SecretString,
    },
}

/// The files named in settings (`[apple]` section / `PASSWRIGHT__APPLE__*`).
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub signer: SignerFiles,
    pub wwdr: PathBuf,
}

/// A validated Pass Type ID identity, parsed once and shared by every pass build.
pub struct PassSigner {
    cert: X509,
    key: PKey<Private>,
    wwdr: X509,
    /// The signature's constant parts (certificates, signer id), encoded once.
    template: SignedDataTemplate,
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
    /// Reads and validates the configured files, checking validity dates against `now`.
    pub fn load(files: &CertFiles, now: OffsetDateTime) -> Result<PassSigner, CertError> {
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
        Self::validate(
            cert,
            key,
            wwdr,
            cert_path,
            key_path,
            files.wwdr.clone(),
            now,
        )
    }

    /// The same checks as [`PassSigner::load`] for PEM bytes already in memory (tests, dev PKI).
    pub fn from_pem(
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
        let public = cert
            .public_key()
            .context("reading the signer certificate's public key")?;
        if !public.public_eq(&key) {
            return Err(CertError::KeyMismatch {
                cert: cert_path,
                key: key_path,
            });
        }
        // Apple issues Pass Type ID certificates with RSA keys; the signature format assumes it.
        if key.id() != Id::RSA {
            return Err(CertError::NotRsa { path: key_path });
        }
        if let Some(reason) = issue_problem(&wwdr, &cert)? {
            return Err(CertError::WrongIntermediate {
                signer: cert_path,
                wwdr: wwdr_path,
                reason,
            });
        }
        let Some(pass_type_id) = subject_entry(&cert, Nid::USERID) else {
            return Err(CertError::NoPassTypeId { path: cert_path });
        };
        let Some(team_id) = subject_entry(&cert, Nid::ORGANIZATIONALUNITNAME) else {
            return Err(CertError::NoTeamId { path: cert_path });
        };

        let (not_before, not_after) = (
            to_datetime(cert.not_before())?,
            to_datetime(cert.not_after())?,
        );
        let (wwdr_not_before, wwdr_not_after) = (
            to_datetime(wwdr.not_before())?,
            to_datetime(wwdr.not_after())?,
        );
        if now >= not_after {
            return Err(CertError::Expired {
                path: cert_path,
                not_after,
            });
        }
        if now < not_before {
            return Err(CertError::NotYetValid {
                path: cert_path,
                not_before,
            });
        }
        if now >= wwdr_not_after {
            return Err(CertError::IntermediateExpired {
                path: wwdr_path,
                not_after: wwdr_not_after,
            });
        }
        if now < wwdr_not_before {
            return Err(CertError::NotYetValid {
                path: wwdr_path,
                not_before: wwdr_not_before,
            });
        }

        let template = SignedDataTemplate::new(&cert, &key, &wwdr)
            .context("preparing the signature template")?;
        let cert_pem = cert.to_pem().context("encoding the signer certificate")?;
        let key_pem = key
            .private_key_to_pem_pkcs8()
            .context("encoding the signer key")?;
        Ok(PassSigner {
            cert,
            key,
            wwdr,
            template,
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
        for (path, not_after) in [
            (&self.cert_path, self.not_after),
            (&self.wwdr_path, self.wwdr_not_after),
        ] {
            let days_left = (not_after - now).whole_days();
            if now >= not_after {
                warnings.push(CertWarning::Expired {
                    path: path.clone(),
                    not_after,
                });
            } else if days_left < EXPIRY_WARNING_DAYS {
                warnings.push(CertWarning::ExpiresSoon {
                    path: path.clone(),
                    not_after,
                    days_left,
                });
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
            warnings.push(CertWarning::NotPassTypeId {
                path: self.cert_path.clone(),
                uid: self.pass_type_id.clone(),
            });
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
    /// intermediate, with signed attributes including `signingTime` (Wallet needs it), which
    /// the caller reads from its clock. The same bytes as OpenSSL's
    /// `PKCS7_sign(DETACHED | BINARY)`; see [`super::signature`].
    pub fn sign_manifest(
        &self,
        manifest: &[u8],
        signing_time: OffsetDateTime,
    ) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        self.template.sign(manifest, signing_time)
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
