//! How to reach APNs and who we are to it: base URL, extra trust roots, the credential
//! (Pass Type ID certificate or `.p8` token key), concurrency and time limits.

use std::fmt;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::Uri;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use secrecy::SecretSlice;

use super::error::ApnsError;
use crate::domain::apple_ids::TeamId;
use crate::wallet::apple::PassSigner;

/// Pass pushes always go to production, even for development builds (apple-webservice.md B.2).
pub const PRODUCTION_URL: &str = "https://api.push.apple.com";

#[derive(Debug, Clone)]
pub struct ApnsConfig {
    /// `https://host[:port]`, e.g. [`PRODUCTION_URL`] or a local stand-in.
    pub url: String,
    /// Trust roots added to the system ones (tests, private proxies).
    pub extra_ca: Vec<X509>,
    pub auth: ApnsAuth,
    /// Pushes in flight at once, over all connections; the server's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` may lower it further.
    pub max_in_flight: usize,
    /// HTTP/2 connections the pushes are spread over, round robin (Apple allows several
    /// to one provider for throughput).
    pub connections: usize,
    /// For one request, from sending to the complete answer.
    pub timeout: Duration,
    /// For TCP connect plus TLS and HTTP/2 handshakes.
    pub connect_timeout: Duration,
}

impl ApnsConfig {
    pub fn new(url: impl Into<String>, auth: ApnsAuth) -> Self {
        ApnsConfig {
            url: url.into(),
            extra_ca: Vec::new(),
            auth,
            max_in_flight: 500,
            connections: 1,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
        }
    }

    pub fn production(auth: ApnsAuth) -> Self {
        Self::new(PRODUCTION_URL, auth)
    }
}

/// The credential APNs knows us by (apple-webservice.md B.3).
#[derive(Clone)]
pub enum ApnsAuth {
    /// Mutual TLS with the Pass Type ID certificate (the one that signs passes) and its key;
    /// `chain` holds the intermediates to send along (Apple WWDR).
    Certificate {
        cert: X509,
        key: PKey<Private>,
        chain: Vec<X509>,
    },
    /// ES256 provider tokens signed with a team's `.p8` key.
    Token {
        key_pem: SecretSlice<u8>,
        key_id: String,
        team_id: TeamId,
    },
}

impl ApnsAuth {
    /// The pass signing identity, which is also the APNs client identity for its topic.
    pub fn from_signer(signer: &PassSigner) -> Self {
        ApnsAuth::Certificate {
            cert: signer.certificate().to_owned(),
            key: signer.private_key().clone(),
            chain: vec![signer.intermediate().to_owned()],
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            ApnsAuth::Certificate { .. } => "certificate",
            ApnsAuth::Token { .. } => "token",
        }
    }
}

impl fmt::Debug for ApnsAuth {
    /// Names the credential, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApnsAuth::Certificate { cert, .. } => f
                .debug_struct("Certificate")
                .field("subject", &cert.subject_name())
                .finish_non_exhaustive(),
            ApnsAuth::Token {
                key_id, team_id, ..
            } => f
                .debug_struct("Token")
                .field("key_id", key_id)
                .field("team_id", team_id)
                .finish_non_exhaustive(),
        }
    }
}

/// Where to connect, parsed once from [`ApnsConfig::url`].
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    /// For TCP, SNI and certificate checks (no brackets around IPv6 addresses).
    pub host: String,
    pub port: u16,
    pub authority: Authority,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, ApnsError> {
        let invalid = |problem| ApnsError::InvalidUrl {
            url: url.to_owned(),
            problem,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        if uri.scheme() != Some(&Scheme::HTTPS) {
            return Err(invalid("APNs is only reachable over https"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("give only scheme, host and port; no path"));
        }
        let authority = uri.authority().cloned().ok_or(invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user information is not allowed"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Endpoint {
            host,
            port: authority.port_u16().unwrap_or(443),
            authority,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse(PRODUCTION_URL).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("api.push.apple.com", 443));
        let e = Endpoint::parse("https://127.0.0.1:8443/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 8443));
        assert_eq!(e.authority.as_str(), "127.0.0.1:8443");
        let e = Endpoint::parse("https://[::1]:9").unwrap();
        assert_eq!(e.host, "::1");
        for bad in [
            "http://api.push.apple.com",
            "https://api.push.apple.com/3/device",
            "api.push.apple.com",
            "https://user@host",
            "",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
