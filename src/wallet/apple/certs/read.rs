//! Reading certificates, keys and PKCS#12 bundles in the forms Apple's portal and Keychain
//! produce, and the X.509 facts [`super::PassSigner`] checks.

use std::path::Path;

use anyhow::Context as _;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509NameRef, X509Ref, X509VerifyResult, X509};
use secrecy::{ExposeSecret as _, SecretString};
use time::OffsetDateTime;

use super::CertError;

pub(super) fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        path: path.to_owned(),
        source,
    })
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn contains(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// Apple hands out DER `.cer` files; people convert them to PEM. Accept both.
pub(super) fn parse_cert(path: &Path, bytes: &[u8]) -> Result<X509, CertError> {
    let parsed = if looks_like_pem(bytes) {
        X509::from_pem(bytes)
    } else {
        X509::from_der(bytes)
    };
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

pub(super) fn parse_key(path: &Path, bytes: &[u8]) -> Result<PKey<Private>, CertError> {
    if looks_like_pem(bytes) && contains(bytes, b"ENCRYPTED") {
        return Err(CertError::EncryptedKey {
            path: path.to_owned(),
        });
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

pub(super) fn parse_pkcs12(
    path: &Path,
    bytes: &[u8],
    password: &SecretString,
) -> Result<(X509, PKey<Private>), CertError> {
    let p12 = Pkcs12::from_der(bytes).map_err(|_| CertError::NotPkcs12 {
        path: path.to_owned(),
    })?;
    let parsed = p12.parse2(password.expose_secret()).map_err(|e| {
        if e.errors()
            .iter()
            .any(|e| e.reason() == Some("mac verify failure"))
        {
            CertError::Pkcs12WrongPassword {
                path: path.to_owned(),
            }
        } else if e.errors().iter().any(|e| e.reason() == Some("unsupported")) {
            // OpenSSL 3 leaves RC2-40 and friends to its "legacy" provider.
            CertError::Pkcs12Unreadable {
                path: path.to_owned(),
                detail: "it is encrypted with an algorithm OpenSSL 3 disables (RC2/3DES)"
                    .to_owned(),
            }
        } else {
            CertError::Pkcs12Unreadable {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        }
    })?;
    let incomplete = |missing| CertError::Pkcs12Incomplete {
        path: path.to_owned(),
        missing,
    };
    let cert = parsed.cert.ok_or_else(|| incomplete("certificate"))?;
    let key = parsed.pkey.ok_or_else(|| incomplete("private key"))?;
    Ok((cert, key))
}

/// `None` if `issuer` issued `cert` (names and key identifiers agree and the signature verifies).
pub(super) fn issue_problem(issuer: &X509Ref, cert: &X509Ref) -> Result<Option<String>, CertError> {
    let checked = issuer.issued(cert);
    if checked != X509VerifyResult::OK {
        return Ok(Some(format!(
            "{}; signer issuer is \"{}\", intermediate subject is \"{}\"",
            checked.error_string(),
            dn_string(cert.issuer_name()),
            dn_string(issuer.subject_name())
        )));
    }
    let key = issuer
        .public_key()
        .context("reading the intermediate's public key")?;
    // An error here means the algorithms do not even fit together; that is a mismatch too.
    if !cert.verify(&key).unwrap_or(false) {
        return Ok(Some(
            "the signer's signature does not verify with the intermediate's key".to_owned(),
        ));
    }
    Ok(None)
}

pub(super) fn subject_entry(cert: &X509Ref, nid: Nid) -> Option<String> {
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

pub(super) fn to_datetime(t: &Asn1TimeRef) -> Result<OffsetDateTime, anyhow::Error> {
    let since_epoch = Asn1Time::from_unix(0)?.diff(t)?;
    let secs = i64::from(since_epoch.days) * 86_400 + i64::from(since_epoch.secs);
    Ok(OffsetDateTime::from_unix_timestamp(secs)?)
}
