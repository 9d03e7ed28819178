//! Opening one APNs connection: TCP, TLS with ALPN `h2` (and the client certificate in
//! certificate mode), then the HTTP/2 handshake.

use std::pin::Pin;
use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use h2::client::{Connection, SendRequest};
use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::config::{ApnsAuth, ApnsConfig, Endpoint};
use super::error::ApnsError;

pub(super) type H2Connection = Connection<SslStream<TcpStream>, Bytes>;

#[derive(Clone)]
pub(super) struct Dialer {
    tls: SslConnector,
    endpoint: Endpoint,
    connect_timeout: Duration,
}

impl Dialer {
    pub fn new(config: &ApnsConfig, endpoint: Endpoint) -> Result<Dialer, ApnsError> {
        // The builder starts from the system trust store and verifies the peer and host name.
        let mut b = SslConnector::builder(SslMethod::tls_client())
            .map_err(ApnsError::tls("creating the TLS context"))?;
        b.set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(ApnsError::tls("requiring TLS 1.2"))?;
        b.set_alpn_protos(b"\x02h2")
            .map_err(ApnsError::tls("offering HTTP/2"))?;
        for ca in &config.extra_ca {
            b.cert_store_mut()
                .add_cert(ca.clone())
                .map_err(ApnsError::tls("adding an extra trust root"))?;
        }
        if let ApnsAuth::Certificate { cert, key, chain } = &config.auth {
            b.set_certificate(cert)
                .map_err(ApnsError::tls("using the client certificate"))?;
            b.set_private_key(key)
                .map_err(ApnsError::tls("using the client key"))?;
            b.check_private_key().map_err(ApnsError::tls(
                "the client key does not match its certificate",
            ))?;
            for intermediate in chain {
                b.add_extra_chain_cert(intermediate.clone())
                    .map_err(ApnsError::tls("adding an intermediate certificate"))?;
            }
        }
        Ok(Dialer {
            tls: b.build(),
            endpoint,
            connect_timeout: config.connect_timeout,
        })
    }

    /// A ready HTTP/2 connection: the handle to send on and the connection to drive.
    pub async fn dial(&self) -> Result<(SendRequest<Bytes>, H2Connection), anyhow::Error> {
        match tokio::time::timeout(self.connect_timeout, self.dial_inner()).await {
            Ok(result) => result,
            Err(_) => bail!("no connection within {:?}", self.connect_timeout),
        }
    }

    async fn dial_inner(&self) -> Result<(SendRequest<Bytes>, H2Connection), anyhow::Error> {
        let Endpoint { host, port, .. } = &self.endpoint;
        let tcp = TcpStream::connect((host.as_str(), *port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
        // Sets SNI (for names) and checks the certificate against the host name or IP address.
        let ssl = self
            .tls
            .configure()
            .and_then(|c| c.into_ssl(host))
            .context("preparing the TLS session")?;
        let mut tls = SslStream::new(ssl, tcp).context("preparing the TLS stream")?;
        Pin::new(&mut tls)
            .connect()
            .await
            .context("TLS handshake with APNs")?;
        if tls.ssl().selected_alpn_protocol() != Some(b"h2") {
            bail!("the server did not agree to HTTP/2 (ALPN h2)");
        }
        let connection = h2::client::Builder::new()
            // Until the server's SETTINGS arrive, assume one stream: APNs starts token
            // connections that way, and a burst beyond its limit would be refused.
            .initial_max_send_streams(1)
            .handshake(tls)
            .await
            .context("HTTP/2 handshake with APNs")?;
        Ok(connection)
    }
}
