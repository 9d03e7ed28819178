//! A throwaway development PKI shaped like Apple's: root CA -> "WWDR G4"-like intermediate ->
//! "Pass Type ID" signer. Every subject says it is NOT FROM APPLE; passes signed with it only
//! verify against its own root, never on a real device. Used by `passwright` in development mode
//! and by tests, which also build broken variants (expired signer, foreign intermediate, .p12).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Extension, X509Name, X509NameRef, X509Ref, X509};
use time::{Duration, OffsetDateTime};

use super::{CertFiles, PassSigner, SignerFiles};

/// The organisation in every development subject; also how we recognise our own files.
pub const DEV_ORGANIZATION: &str = "passwright DEVELOPMENT (NOT FROM APPLE)";

/// Apple's Pass Type ID extended key usage.
const OID_EKU_PASS_TYPE_ID: &str = "1.2.840.113635.100.4.14";
/// Apple extension holding the pass type id as a UTF8String (pkpassvalidator compares it).
const OID_PASS_TYPE_ID: &str = "1.2.840.113635.100.6.1.16";
/// Apple marker extension present on Pass Type ID certificates (ASN.1 NULL).
const OID_PASS_CERT_MARKER: &str = "1.2.840.113635.100.6.3.2";

#[derive(Debug, Clone)]
pub struct DevPkiOptions {
    pub pass_type_id: String,
    pub team_id: String,
    /// When the PKI is made; [`ensure_dev_certs`] keeps existing files only if valid at this time.
    pub now: OffsetDateTime,
    pub signer_not_before: OffsetDateTime,
    pub signer_not_after: OffsetDateTime,
    pub ca_not_before: OffsetDateTime,
    pub ca_not_after: OffsetDateTime,
}

impl DevPkiOptions {
    /// A signer valid for a year and CAs valid for ten, all starting an hour before `now` so
    /// small clock differences between machines do not matter.
    pub fn new(
        pass_type_id: impl Into<String>,
        team_id: impl Into<String>,
        now: OffsetDateTime,
    ) -> Self {
        let start = now - Duration::hours(1);
        DevPkiOptions {
            pass_type_id: pass_type_id.into(),
            team_id: team_id.into(),
            now,
            signer_not_before: start,
            signer_not_after: now + Duration::days(365),
            ca_not_before: start,
            ca_not_after: now + Duration::days(3650),
        }
    }
}

#[derive(Clone)]
pub struct DevPki {
    pub root_cert: X509,
    pub wwdr_cert: X509,
    pub wwdr_key: PKey<Private>,
    pub signer_cert: X509,
    pub signer_key: PKey<Private>,
}

/// Generates a fresh root, intermediate and signer (three RSA 2048 keys).
pub fn generate(opts: &DevPkiOptions) -> Result<DevPki, anyhow::Error> {
    let (root_cert, root_key) = make_root(opts).context("generating the development root CA")?;
    let (wwdr_cert, wwdr_key) = make_wwdr(&root_cert, &root_key, opts)
        .context("generating the development intermediate")?;
    let (signer_cert, signer_key) =
        issue_signer(&wwdr_cert, &wwdr_key, opts).context("generating the development signer")?;
    Ok(DevPki {
        root_cert,
        wwdr_cert,
        wwdr_key,
        signer_cert,
        signer_key,
    })
}

fn make_root(opts: &DevPkiOptions) -> Result<(X509, PKey<Private>), anyhow::Error> {
    let key = new_key()?;
    let subject = name(&[
        (Nid::COUNTRYNAME, "US"),
        (Nid::ORGANIZATIONNAME, DEV_ORGANIZATION),
        (
            Nid::ORGANIZATIONALUNITNAME,
            "Development Certification Authority",
        ),
        (
            Nid::COMMONNAME,
            "passwright DEVELOPMENT Root CA - NOT FROM APPLE",
        ),
    ])?;
    let mut root = builder(
        &subject,
        &subject,
        &key,
        opts.ca_not_before,
        opts.ca_not_after,
    )?;
    root.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    root.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&root.x509v3_context(None, None))?;
    root.append_extension(ski)?;
    root.sign(&key, MessageDigest::sha256())?;
    Ok((root.build(), key))
}

/// Named like Apple's WWDR G4 (CN, OU=G4, O, C) so the G4 check has something to look at.
fn make_wwdr(
    root_cert: &X509Ref,
    root_key: &PKey<Private>,
    opts: &DevPkiOptions,
) -> Result<(X509, PKey<Private>), anyhow::Error> {
    let key = new_key()?;
    let subject = name(&[
        (
            Nid::COMMONNAME,
            "passwright DEVELOPMENT WWDR CA - NOT FROM APPLE",
        ),
        (Nid::ORGANIZATIONALUNITNAME, "G4"),
        (Nid::ORGANIZATIONNAME, DEV_ORGANIZATION),
        (Nid::COUNTRYNAME, "US"),
    ])?;
    let mut wwdr = builder(
        &subject,
        root_cert.subject_name(),
        &key,
        opts.ca_not_before,
        opts.ca_not_after,
    )?;
    wwdr.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    wwdr.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    append_key_ids(&mut wwdr, root_cert)?;
    wwdr.sign(root_key, MessageDigest::sha256())?;
    Ok((wwdr.build(), key))
}

impl DevPki {
    /// The same root and intermediate with a new signer made from `opts` (e.g. an expired one).
    pub fn reissue_signer(&self, opts: &DevPkiOptions) -> Result<DevPki, anyhow::Error> {
        let (signer_cert, signer_key) = issue_signer(&self.wwdr_cert, &self.wwdr_key, opts)
            .context("generating the development signer")?;
        Ok(DevPki {
            signer_cert,
            signer_key,
            ..self.clone()
        })
    }

    pub fn root_pem(&self) -> Result<Vec<u8>, anyhow::Error> {
        Ok(self.root_cert.to_pem()?)
    }

    pub fn wwdr_pem(&self) -> Result<Vec<u8>, anyhow::Error> {
        Ok(self.wwdr_cert.to_pem()?)
    }

    pub fn signer_cert_pem(&self) -> Result<Vec<u8>, anyhow::Error> {
        Ok(self.signer_cert.to_pem()?)
    }

    /// Unencrypted PKCS#8 PEM.
    pub fn signer_key_pem(&self) -> Result<Vec<u8>, anyhow::Error> {
        Ok(self.signer_key.private_key_to_pem_pkcs8()?)
    }

    /// Signer certificate and key as a password-protected `.p12`, like a Keychain export.
    pub fn to_pkcs12(&self, password: &str) -> Result<Vec<u8>, anyhow::Error> {
        let p12 = Pkcs12::builder()
            .name("passwright DEVELOPMENT Pass Type ID")
            .pkey(&self.signer_key)
            .cert(&self.signer_cert)
            .build2(password)?;
        Ok(p12.to_der()?)
    }

    /// Loads the signer the way the service would, with all checks, at time `now`.
    pub fn signer(&self, now: OffsetDateTime) -> Result<PassSigner, anyhow::Error> {
        let signer = PassSigner::from_pem(
            &self.signer_cert_pem()?,
            &self.signer_key_pem()?,
            &self.wwdr_pem()?,
            now,
        )?;
        Ok(signer)
    }

    /// Writes root.pem, wwdr.pem, signer.pem and signer.key (mode 0600) into `dir`.
    pub fn write_pem_files(&self, dir: &Path) -> Result<CertFiles, anyhow::Error> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files = dev_cert_files(dir);
        write_file(&dir.join("root.pem"), &self.root_pem()?, 0o644)?;
        write_file(&files.wwdr, &self.wwdr_pem()?, 0o644)?;
        if let SignerFiles::Pem { cert, key } = &files.signer {
            write_file(key, &self.signer_key_pem()?, 0o600)?;
            write_file(cert, &self.signer_cert_pem()?, 0o644)?;
        }
        Ok(files)
    }
}

/// Makes sure `dir` holds a development PKI for `opts.pass_type_id` / `opts.team_id` that is valid
/// at `opts.now` and not about to expire, generating one if not. Returns the files to load and
/// whether anything was written. Refuses to overwrite certificates that are not passwright
/// development certificates.
pub fn ensure_dev_certs(
    dir: &Path,
    opts: &DevPkiOptions,
) -> Result<(CertFiles, bool), anyhow::Error> {
    let files = dev_cert_files(dir);
    let SignerFiles::Pem {
        cert: cert_path, ..
    } = &files.signer
    else {
        bail!("development certificates are always PEM files");
    };
    if cert_path.exists() {
        let existing =
            std::fs::read(cert_path).with_context(|| format!("reading {}", cert_path.display()))?;
        let ours = X509::from_pem(&existing).is_ok_and(|cert| is_dev_cert(&cert));
        if !ours {
            bail!(
                "refusing to overwrite {}: it is not a passwright development certificate; \
                 point the development certificate directory somewhere else",
                cert_path.display()
            );
        }
        let usable = dir.join("root.pem").exists()
            && PassSigner::load(&files, opts.now).is_ok_and(|s| {
                s.pass_type_id() == opts.pass_type_id
                    && s.team_id() == opts.team_id
                    && s.check(opts.now).is_empty()
            });
        if usable {
            return Ok((files, false));
        }
    }
    let pki = generate(opts)?;
    let files = pki.write_pem_files(dir)?;
    Ok((files, true))
}

fn dev_cert_files(dir: &Path) -> CertFiles {
    CertFiles {
        signer: SignerFiles::Pem {
            cert: dir.join("signer.pem"),
            key: dir.join("signer.key"),
        },
        wwdr: dir.join("wwdr.pem"),
    }
}

fn is_dev_cert(cert: &X509Ref) -> bool {
    cert.subject_name()
        .entries_by_nid(Nid::ORGANIZATIONNAME)
        .any(|e| e.data().to_string().is_ok_and(|v| v == DEV_ORGANIZATION))
}

/// A signer laid out like Apple's Pass Type ID certificates (apple-pkpass.md section 8).
fn issue_signer(
    wwdr_cert: &X509Ref,
    wwdr_key: &PKey<Private>,
    opts: &DevPkiOptions,
) -> Result<(X509, PKey<Private>), anyhow::Error> {
    let key = new_key()?;
    let subject = name(&[
        (Nid::USERID, &opts.pass_type_id),
        (
            Nid::COMMONNAME,
            &format!("Pass Type ID: {}", opts.pass_type_id),
        ),
        (Nid::ORGANIZATIONALUNITNAME, &opts.team_id),
        (Nid::ORGANIZATIONNAME, DEV_ORGANIZATION),
        (Nid::COUNTRYNAME, "US"),
    ])?;
    let mut cert = builder(
        &subject,
        wwdr_cert.subject_name(),
        &key,
        opts.signer_not_before,
        opts.signer_not_after,
    )?;
    cert.append_extension(BasicConstraints::new().critical().build()?)?;
    cert.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    cert.append_extension(
        ExtendedKeyUsage::new()
            .client_auth()
            .other(OID_EKU_PASS_TYPE_ID)
            .build()?,
    )?;
    append_key_ids(&mut cert, wwdr_cert)?;
    cert.append_extension(raw_extension(
        OID_PASS_TYPE_ID,
        &der_utf8_string(&opts.pass_type_id),
    )?)?;
    cert.append_extension(raw_extension(OID_PASS_CERT_MARKER, &[0x05, 0x00])?)?;
    cert.sign(wwdr_key, MessageDigest::sha256())?;
    Ok((cert.build(), key))
}

fn new_key() -> Result<PKey<Private>, anyhow::Error> {
    Ok(PKey::from_rsa(Rsa::generate(2048)?)?)
}

fn name(entries: &[(Nid, &str)]) -> Result<X509Name, anyhow::Error> {
    let mut name = X509Name::builder()?;
    for (nid, value) in entries {
        name.append_entry_by_nid(*nid, value)?;
    }
    Ok(name.build())
}

fn builder(
    subject: &X509NameRef,
    issuer: &X509NameRef,
    key: &PKey<Private>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<X509Builder, anyhow::Error> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    let not_before = asn1_time(not_before)?;
    let not_after = asn1_time(not_after)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer)?;
    b.set_pubkey(key)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    Ok(b)
}

// `time_t` is i64 on the targets we build for, but not on every target.
#[allow(clippy::useless_conversion)]
fn asn1_time(t: OffsetDateTime) -> Result<Asn1Time, anyhow::Error> {
    Ok(Asn1Time::from_unix(t.unix_timestamp().try_into()?)?)
}

fn append_key_ids(b: &mut X509Builder, issuer: &X509Ref) -> Result<(), anyhow::Error> {
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(issuer), None))?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(issuer), None))?;
    b.append_extension(ski)?;
    b.append_extension(aki)?;
    Ok(())
}

fn raw_extension(oid: &str, der: &[u8]) -> Result<X509Extension, anyhow::Error> {
    let oid = Asn1Object::from_str(oid)?;
    let value = Asn1OctetString::new_from_bytes(der)?;
    Ok(X509Extension::new_from_der(&oid, false, &value)?)
}

fn der_utf8_string(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let len = bytes.len();
    let mut der = vec![0x0C];
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let len_bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        der.push(0x80 | len_bytes.len() as u8);
        der.extend(len_bytes);
    }
    der.extend_from_slice(bytes);
    der
}

/// Writes through a temporary file and a rename so a crash never leaves half a key behind.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), anyhow::Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A leftover from an interrupted run may have other permissions; start afresh so `mode`
    // applies (it only does when the file is created).
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", tmp.display()));
        }
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.sync_all()
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
