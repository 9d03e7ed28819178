//! Certificates and TLS for the stand-in: a throwaway P-256 root, server certificates for
//! localhost, and the acceptor (ALPN `h2`, a client certificate required in certificate mode).

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{self, AlpnError, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509Builder, X509Name, X509};

use super::FakeAuth;

pub(super) fn acceptor(
    auth: &FakeAuth,
    ca: &X509,
    ca_key: &PKey<Private>,
) -> anyhow::Result<SslAcceptor> {
    let (cert, key) = make_server_cert(ca, ca_key)?;
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    b.set_certificate(&cert)?;
    b.set_private_key(&key)?;
    b.check_private_key()?;
    b.set_alpn_select_callback(|_, offered| {
        ssl::select_next_proto(b"\x02h2", offered).ok_or(AlpnError::ALERT_FATAL)
    });
    if let FakeAuth::Certificate { trust } = auth {
        b.cert_store_mut().add_cert(trust.clone())?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    Ok(b.build())
}

/// A throwaway P-256 root for the server certificate (fast to make, unlike RSA).
pub fn make_ca() -> anyhow::Result<(X509, PKey<Private>)> {
    let key = p256()?;
    let name = subject("passwright APNs stand-in CA - TESTS ONLY")?;
    let mut b = cert_builder(&name, &name, &key)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

/// CN=localhost for DNS:localhost and IP:127.0.0.1, for TLS servers.
pub fn make_server_cert(
    ca: &X509,
    ca_key: &PKey<Private>,
) -> anyhow::Result<(X509, PKey<Private>)> {
    let key = p256()?;
    let name = subject("localhost")?;
    let mut b = cert_builder(&name, ca.subject_name(), &key)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(san)?;
    b.sign(ca_key, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

fn p256() -> anyhow::Result<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn subject(cn: &str) -> anyhow::Result<X509Name> {
    let mut name = X509Name::builder()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    Ok(name.build())
}

fn cert_builder(
    subject: &openssl::x509::X509NameRef,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
) -> anyhow::Result<X509Builder> {
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer)?;
    b.set_pubkey(key)?;
    // Real time: TLS libraries check validity against the system clock, not a test clock.
    let now = passwright::clock::system_now().unix_timestamp();
    let (not_before, not_after) = (
        Asn1Time::from_unix(now - 3600)?,
        Asn1Time::from_unix(now + 86_400)?,
    );
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    Ok(b)
}
