//! Loading and checking signer identities, good and broken, the way operators get them wrong.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::nid::Nid;
use secrecy::ExposeSecret as _;
use time::Duration;

use super::error::fmt_date;
use super::*;
use crate::wallet::apple::certs::devca::tests::{now, options, shared_pki, PASS_TYPE_ID, TEAM_ID};
use crate::wallet::apple::certs::devca::{generate, DevPki};

/// A second, unrelated development PKI (same names, different keys).
fn foreign_pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| generate(&options()).unwrap())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load(files: &CertFiles) -> Result<PassSigner, CertError> {
    PassSigner::load(files, now())
}

fn message(err: &CertError) -> String {
    err.to_string()
}

#[test]
fn pem_files_load_and_expose_ids() {
    let dir = tempfile::tempdir().unwrap();
    let files = shared_pki().write_pem_files(dir.path()).unwrap();
    let signer = load(&files).unwrap();
    assert_eq!(
        (signer.pass_type_id(), signer.team_id()),
        (PASS_TYPE_ID, TEAM_ID)
    );
    assert!(signer.ensure_matches(PASS_TYPE_ID, TEAM_ID).is_ok());
    assert!(signer.check(now()).is_empty());
    assert!(String::from_utf8_lossy(signer.cert_pem()).starts_with("-----BEGIN CERTIFICATE"));
    // The PEM handed out (for the APNs client identity) is the signer's own key.
    let key = openssl::pkey::PKey::private_key_from_pem(signer.key_pem().expose_secret()).unwrap();
    assert!(key.public_eq(signer.private_key()));
    assert!(
        !format!("{signer:?}").contains("PRIVATE"),
        "Debug must not show the key"
    );
}

#[test]
fn mismatched_ids_name_the_certificate_and_both_values() {
    let dir = tempfile::tempdir().unwrap();
    let signer = load(&shared_pki().write_pem_files(dir.path()).unwrap()).unwrap();

    let err = signer
        .ensure_matches("pass.com.example.other", TEAM_ID)
        .unwrap_err();
    assert!(matches!(err, CertError::PassTypeIdMismatch { .. }));
    let text = message(&err);
    assert!(text.contains("signer.pem"), "{text}");
    assert!(
        text.contains(PASS_TYPE_ID) && text.contains("pass.com.example.other"),
        "{text}"
    );

    let err = signer
        .ensure_matches(PASS_TYPE_ID, "ZZZZZ99999")
        .unwrap_err();
    assert!(matches!(err, CertError::TeamIdMismatch { .. }));
    let text = message(&err);
    assert!(
        text.contains("signer.pem") && text.contains(TEAM_ID) && text.contains("ZZZZZ99999"),
        "{text}"
    );
}

#[test]
fn expired_and_not_yet_valid_signers_are_refused_with_the_date() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options();
    opts.signer_not_before = now() - Duration::days(400);
    opts.signer_not_after = now() - Duration::days(1);
    let files = shared_pki()
        .reissue_signer(&opts)
        .unwrap()
        .write_pem_files(dir.path())
        .unwrap();
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err:?}");
    let text = message(&err);
    let date = fmt_date(opts.signer_not_after);
    assert!(
        text.contains("signer.pem") && text.contains("expired") && text.contains(&date),
        "{text}"
    );

    opts.signer_not_before = now() + Duration::days(2);
    opts.signer_not_after = now() + Duration::days(300);
    let files = shared_pki()
        .reissue_signer(&opts)
        .unwrap()
        .write_pem_files(dir.path())
        .unwrap();
    assert!(matches!(load(&files), Err(CertError::NotYetValid { .. })));
}

#[test]
fn signer_expiring_within_30_days_gives_a_warning_with_days_left() {
    let mut opts = options();
    opts.signer_not_after = now() + Duration::days(10);
    let signer = shared_pki()
        .reissue_signer(&opts)
        .unwrap()
        .signer(now())
        .unwrap();
    let warnings = signer.check(now());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(matches!(
        warnings[0],
        CertWarning::ExpiresSoon { days_left: 10, .. }
    ));
    let text = warnings[0].to_string();
    assert!(
        text.contains("10 days left") && text.contains(&fmt_date(opts.signer_not_after)),
        "{text}"
    );
    // Later, the same signer is past its date.
    let later = signer.check(now() + Duration::days(11));
    assert!(matches!(later[0], CertWarning::Expired { .. }), "{later:?}");
}

#[test]
fn pkcs12_with_the_right_password_loads_and_a_wrong_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = write(
        dir.path(),
        "signer.p12",
        &shared_pki().to_pkcs12("s3cret").unwrap(),
    );
    let wwdr = write(dir.path(), "wwdr.pem", &shared_pki().wwdr_pem().unwrap());
    let files = |password: &str| CertFiles {
        signer: SignerFiles::Pkcs12 {
            path: p12.clone(),
            password: password.into(),
        },
        wwdr: wwdr.clone(),
    };
    assert_eq!(load(&files("s3cret")).unwrap().pass_type_id(), PASS_TYPE_ID);

    let err = load(&files("wrong")).unwrap_err();
    assert!(
        matches!(err, CertError::Pkcs12WrongPassword { .. }),
        "{err:?}"
    );
    let text = message(&err);
    assert!(
        text.contains("wrong password") && text.contains("signer.p12"),
        "{text}"
    );

    let not_p12 = CertFiles {
        signer: SignerFiles::Pkcs12 {
            path: wwdr.clone(),
            password: "x".into(),
        },
        ..files("")
    };
    assert!(matches!(load(&not_p12), Err(CertError::NotPkcs12 { .. })));
}

#[test]
fn signer_from_another_intermediate_is_a_wrong_intermediate() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = foreign_pki().write_pem_files(dir.path()).unwrap();
    files.wwdr = write(
        dir.path(),
        "configured-wwdr.pem",
        &shared_pki().wwdr_pem().unwrap(),
    );
    let err = load(&files).unwrap_err();
    assert!(
        matches!(err, CertError::WrongIntermediate { .. }),
        "{err:?}"
    );
    let text = message(&err);
    assert!(text.contains("missing or wrong intermediate"), "{text}");
    assert!(
        text.contains("configured-wwdr.pem") && text.contains("signer.pem"),
        "{text}"
    );

    // The root instead of the intermediate: the issuer name does not even match.
    files.wwdr = write(
        dir.path(),
        "root-as-wwdr.pem",
        &foreign_pki().root_pem().unwrap(),
    );
    let text = message(&load(&files).unwrap_err());
    assert!(
        text.contains("missing or wrong intermediate") && text.contains("root-as-wwdr.pem"),
        "{text}"
    );
}

#[test]
fn missing_intermediate_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = shared_pki().write_pem_files(dir.path()).unwrap();
    files.wwdr = dir.path().join("AppleWWDRCAG4.pem");
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::Read { .. }), "{err:?}");
    let text = message(&err);
    assert!(
        text.starts_with("cannot read") && text.contains("AppleWWDRCAG4.pem"),
        "{text}"
    );
}

#[test]
fn key_of_another_certificate_is_a_mismatch_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = shared_pki().write_pem_files(dir.path()).unwrap();
    let other_key = write(
        dir.path(),
        "other.key",
        &foreign_pki().signer_key_pem().unwrap(),
    );
    if let SignerFiles::Pem { key, .. } = &mut files.signer {
        *key = other_key;
    }
    let err = load(&files).unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err:?}");
    let text = message(&err);
    assert!(
        text.contains("other.key") && text.contains("signer.pem"),
        "{text}"
    );
}

#[test]
fn swapped_or_foreign_files_get_specific_messages() {
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki();
    let cert = write(dir.path(), "signer.pem", &pki.signer_cert_pem().unwrap());
    let key = write(dir.path(), "signer.key", &pki.signer_key_pem().unwrap());
    let wwdr = write(dir.path(), "wwdr.pem", &pki.wwdr_pem().unwrap());
    let pem = |cert: &Path, key: &Path| CertFiles {
        signer: SignerFiles::Pem {
            cert: cert.to_owned(),
            key: key.to_owned(),
        },
        wwdr: wwdr.clone(),
    };
    let text = message(&load(&pem(&key, &cert)).unwrap_err());
    assert!(
        text.contains("signer.key is not a PEM or DER certificate") && text.contains("swapped"),
        "{text}"
    );

    let garbage = write(dir.path(), "garbage.key", b"hello");
    let err = load(&pem(&cert, &garbage)).unwrap_err();
    assert!(
        matches!(err, CertError::NotPrivateKey { .. }) && message(&err).contains("garbage.key")
    );

    let encrypted = pki
        .signer_key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw");
    let encrypted = write(dir.path(), "encrypted.key", &encrypted.unwrap());
    assert!(matches!(
        load(&pem(&cert, &encrypted)),
        Err(CertError::EncryptedKey { .. })
    ));

    // Apple's portal hands out DER `.cer` files: those load as they are.
    let der = write(dir.path(), "pass.cer", &pki.signer_cert.to_der().unwrap());
    assert!(load(&pem(&der, &key)).is_ok());
}

/// A certificate for the shared signer key, issued by the shared intermediate, with only
/// the given subject entries.
fn signer_cert_with_subject(entries: &[(Nid, &str)]) -> Vec<u8> {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::x509::{X509Builder, X509Name};
    let pki = shared_pki();
    let mut subject = X509Name::builder().unwrap();
    for (nid, value) in entries {
        subject.append_entry_by_nid(*nid, value).unwrap();
    }
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&subject.build()).unwrap();
    b.set_issuer_name(pki.wwdr_cert.subject_name()).unwrap();
    b.set_pubkey(&pki.signer_key).unwrap();
    let start = Asn1Time::from_unix(now().unix_timestamp() - 3600).unwrap();
    let end = Asn1Time::from_unix(now().unix_timestamp() + 365 * 86_400).unwrap();
    b.set_not_before(&start).unwrap();
    b.set_not_after(&end).unwrap();
    b.sign(&pki.wwdr_key, MessageDigest::sha256()).unwrap();
    b.build().to_pem().unwrap()
}

#[test]
fn signer_without_uid_or_ou_is_not_a_pass_type_id_certificate() {
    let pki = shared_pki();
    let (key, wwdr) = (pki.signer_key_pem().unwrap(), pki.wwdr_pem().unwrap());

    let no_uid = signer_cert_with_subject(&[
        (Nid::COMMONNAME, "Apple Development"),
        (Nid::ORGANIZATIONALUNITNAME, TEAM_ID),
    ]);
    let err = PassSigner::from_pem(&no_uid, &key, &wwdr, now()).unwrap_err();
    assert!(matches!(err, CertError::NoPassTypeId { .. }), "{err:?}");
    assert!(
        message(&err).contains("no UID (pass type identifier)"),
        "{err}"
    );

    let no_ou = signer_cert_with_subject(&[
        (Nid::USERID, PASS_TYPE_ID),
        (Nid::COMMONNAME, "Pass Type ID"),
    ]);
    let err = PassSigner::from_pem(&no_ou, &key, &wwdr, now()).unwrap_err();
    assert!(matches!(err, CertError::NoTeamId { .. }), "{err:?}");

    let not_a_pass_id = signer_cert_with_subject(&[
        (Nid::USERID, "com.example.app"),
        (Nid::ORGANIZATIONALUNITNAME, TEAM_ID),
    ]);
    let signer = PassSigner::from_pem(&not_a_pass_id, &key, &wwdr, now()).unwrap();
    assert!(
        matches!(signer.check(now())[..], [CertWarning::NotPassTypeId { .. }]),
        "{:?}",
        signer.check(now())
    );
}
