//! Why an APNs client cannot be built. Pushes themselves never fail with an error: they end in
//! a [`super::PushOutcome`].

/// A configuration problem found while building the client; the reader is an operator.
#[derive(Debug, thiserror::Error)]
pub enum ApnsError {
    #[error("APNs URL {url:?} cannot be used: {problem}")]
    InvalidUrl { url: String, problem: &'static str },
    #[error("APNs max_in_flight and connections must be at least 1")]
    NoConcurrency,
    #[error("APNs key id must be 10 letters or digits (the Key ID shown next to the .p8 key)")]
    InvalidKeyId,
    #[error("APNs token key is not a PKCS#8 P-256 private key (an AuthKey_<id>.p8 file)")]
    InvalidKey(#[source] jsonwebtoken::errors::Error),
    #[error("setting up TLS for APNs: {what}")]
    Tls {
        what: &'static str,
        #[source]
        source: openssl::error::ErrorStack,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApnsError {
    pub(super) fn tls(what: &'static str) -> impl FnOnce(openssl::error::ErrorStack) -> Self {
        move |source| ApnsError::Tls { what, source }
    }
}
