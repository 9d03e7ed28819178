//! HTTPS without a reverse proxy: `server.tls_cert_file` and `server.tls_key_file` (PEM)
//! become the listener's TLS settings (Mozilla's "intermediate" profile: TLS 1.2 and 1.3,
//! HTTP/2 offered by ALPN). Checked at start-up, so a wrong file stops the service with a
//! sentence naming the setting rather than failing each connection.

use std::path::Path;

use anyhow::Context;
use openssl::asn1::Asn1Time;
use openssl::pkey::PKey;
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslMethod};
use openssl::x509::X509;

/// The TLS settings for serving `cert` (the chain, the server's certificate first) with
/// `key`.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<SslAcceptorBuilder> {
    let chain = std::fs::read(cert)
        .with_context(|| format!("server.tls_cert_file: cannot read {}", cert.display()))?;
    let first = X509::stack_from_pem(&chain)
        .ok()
        .and_then(|certs| certs.into_iter().next())
        .with_context(|| {
            format!(
                "server.tls_cert_file: {} holds no PEM certificate",
                cert.display()
            )
        })?;
    let mut builder =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).context("setting up TLS")?;
    builder.set_certificate_chain_file(cert).with_context(|| {
        format!(
            "server.tls_cert_file: {} is not a PEM certificate chain",
            cert.display()
        )
    })?;
    let pem = std::fs::read(key)
        .with_context(|| format!("server.tls_key_file: cannot read {}", key.display()))?;
    let private = PKey::private_key_from_pem(&pem).with_context(|| {
        format!(
            "server.tls_key_file: {} is not a PEM private key",
            key.display()
        )
    })?;
    let matches = first
        .public_key()
        .is_ok_and(|public| public.public_eq(&private));
    if !matches {
        anyhow::bail!(
            "server.tls_key_file: {} is not the key of the certificate in {}",
            key.display(),
            cert.display()
        );
    }
    builder
        .set_private_key(&private)
        .context("server.tls_key_file: the key cannot be used for TLS")?;
    let now = Asn1Time::days_from_now(0).context("reading the clock")?;
    if first.not_after() < now {
        anyhow::bail!(
            "server.tls_cert_file: the certificate in {} expired on {}",
            cert.display(),
            first.not_after()
        );
    }
    let soon = Asn1Time::days_from_now(30).context("reading the clock")?;
    if first.not_after() < soon {
        tracing::warn!(expires = %first.not_after(), "the HTTPS certificate expires within 30 days");
    }
    Ok(builder)
}
