//! Shared development PKI for the crate's unit tests, and the development CA's own tests.

use super::*;
use std::sync::OnceLock;

pub(crate) const PASS_TYPE_ID: &str = "pass.com.example.loyalty";
pub(crate) const TEAM_ID: &str = "ABCDE12345";

/// The real clock, read once and then fixed for every test: the OpenSSL CLI checks
/// certificate dates against the real time, so the test PKI must be valid now.
pub(crate) fn now() -> OffsetDateTime {
    static NOW: OnceLock<OffsetDateTime> = OnceLock::new();
    *NOW.get_or_init(|| {
        let now = crate::clock::system_now();
        now - Duration::nanoseconds(i64::from(now.nanosecond()))
    })
}

pub(crate) fn options() -> DevPkiOptions {
    DevPkiOptions::new(PASS_TYPE_ID, TEAM_ID, now())
}

/// One PKI shared by the tests of this module tree: RSA key generation is the slow part.
pub(crate) fn shared_pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| generate(&options()).unwrap())
}

#[test]
fn signer_has_apple_layout_and_loads() {
    let pki = shared_pki();
    let subject = crate::wallet::apple::certs::dn_string(pki.signer_cert.subject_name());
    assert_eq!(
        subject,
        format!(
            "UID={PASS_TYPE_ID}, CN=Pass Type ID: {PASS_TYPE_ID}, OU={TEAM_ID}, O={DEV_ORGANIZATION}, C=US"
        )
    );
    let text = String::from_utf8(pki.signer_cert.to_text().unwrap()).unwrap();
    assert!(text.contains("1.2.840.113635.100.6.1.16"), "{text}");
    assert!(text.contains("1.2.840.113635.100.6.3.2"), "{text}");
    assert!(
        text.contains("TLS Web Client Authentication, 1.2.840.113635.100.4.14"),
        "{text}"
    );
    let signer = pki.signer(now()).unwrap();
    assert_eq!(signer.pass_type_id(), PASS_TYPE_ID);
    assert_eq!(signer.team_id(), TEAM_ID);
    assert!(signer.check(now()).is_empty(), "{:?}", signer.check(now()));
}

#[test]
fn ensure_dev_certs_generates_once_and_regenerates_for_other_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (files, generated) = ensure_dev_certs(dir.path(), &options()).unwrap();
    assert!(generated);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("signer.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(PassSigner::load(&files, now()).is_ok());
    let (_, generated) = ensure_dev_certs(dir.path(), &options()).unwrap();
    assert!(!generated, "existing matching certificates must be kept");

    // About to expire: replaced rather than left to break next month.
    let mut short = options();
    short.signer_not_after = now() + Duration::days(5);
    shared_pki()
        .reissue_signer(&short)
        .unwrap()
        .write_pem_files(dir.path())
        .unwrap();
    assert!(ensure_dev_certs(dir.path(), &options()).unwrap().1);
    assert!(!ensure_dev_certs(dir.path(), &options()).unwrap().1);

    let other = DevPkiOptions::new("pass.com.example.other", TEAM_ID, now());
    let (files, generated) = ensure_dev_certs(dir.path(), &other).unwrap();
    assert!(generated);
    assert_eq!(
        PassSigner::load(&files, now()).unwrap().pass_type_id(),
        "pass.com.example.other"
    );
}

#[test]
fn ensure_dev_certs_does_not_overwrite_foreign_certificates() {
    let dir = tempfile::tempdir().unwrap();
    // The dev root is not a dev *signer* by name alone, so use a certificate from elsewhere:
    // a self-signed one with another organisation.
    let key = new_key().unwrap();
    let subject = name(&[
        (Nid::ORGANIZATIONNAME, "Real Company"),
        (Nid::USERID, PASS_TYPE_ID),
    ])
    .unwrap();
    let mut b = builder(&subject, &subject, &key, now(), now() + Duration::days(1)).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    std::fs::write(dir.path().join("signer.pem"), b.build().to_pem().unwrap()).unwrap();
    let err = ensure_dev_certs(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refusing to overwrite") && err.contains("signer.pem"),
        "{err}"
    );
}

#[test]
fn der_utf8_string_uses_long_form_lengths() {
    assert_eq!(der_utf8_string("ab"), vec![0x0C, 2, b'a', b'b']);
    let long = "x".repeat(200);
    assert_eq!(&der_utf8_string(&long)[..3], &[0x0C, 0x81, 200]);
}
