//! Connections to the SMTP relay, kept open and reused: at most `email.max_connections` at
//! once, each carrying one message at a time. One idle for over a minute, or that no longer
//! answers NOOP, is closed when next needed and replaced (relays close idle ones themselves).
//!
//! lettre speaks SMTP on them; passwright opens the sockets itself so they can carry
//! `TCP_NODELAY`: lettre writes a message's body and its closing dot as two writes, and
//! without it the dot waits for the relay to acknowledge the body, which relays delay by up
//! to 40 ms (delayed ACK): one such stall per message caps a connection near 25 messages a
//! second. Protection per `email.tls`: implicit TLS (OpenSSL) from the first byte, STARTTLS
//! (lettre's, refused when the relay does not offer it), or none (loopback only, checked by
//! the settings). `email.ca_file` adds a trusted root for a relay with a private CA.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::Context;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use openssl::ssl::{SslConnector, SslMethod};
use openssl::x509::X509;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_openssl::SslStream;

use crate::settings::{EmailSettings, SmtpTls};

/// How long an unused connection stays open.
const IDLE: Duration = Duration::from_secs(60);

/// Why a message did not get through: the relay's answer, or a connection problem.
#[derive(Debug)]
pub enum SmtpError {
    /// lettre's error: an SMTP reply (4xx or 5xx), or a broken exchange.
    Smtp(lettre::transport::smtp::Error),
    /// Connecting, TLS, or anything before SMTP: always worth another try.
    Connect(anyhow::Error),
}

enum Protection {
    None,
    Starttls(Box<TlsParameters>),
    Tls(SslConnector),
}

pub struct SmtpRelay {
    host: String,
    port: u16,
    protection: Protection,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Each step of the exchange (connecting, every reply).
    timeout: Duration,
    permits: Semaphore,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl SmtpRelay {
    pub fn from_settings(s: &EmailSettings) -> anyhow::Result<SmtpRelay> {
        let ca = match &s.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("email.ca_file {}: cannot read it", path.display()))?,
            ),
            None => None,
        };
        let protection = match s.tls {
            SmtpTls::None => Protection::None,
            SmtpTls::Starttls => {
                let mut b = TlsParameters::builder(s.host.clone());
                if let Some(pem) = &ca {
                    b = b.add_root_certificate(
                        Certificate::from_pem(pem)
                            .context("email.ca_file is not a PEM certificate")?,
                    );
                }
                Protection::Starttls(Box::new(b.build().context("email: STARTTLS setup")?))
            }
            SmtpTls::Tls => {
                let mut b =
                    SslConnector::builder(SslMethod::tls_client()).context("email: TLS setup")?;
                if let Some(pem) = &ca {
                    for cert in X509::stack_from_pem(pem)
                        .context("email.ca_file is not a PEM certificate")?
                    {
                        b.cert_store_mut().add_cert(cert).context("email.ca_file")?;
                    }
                }
                Protection::Tls(b.build())
            }
        };
        let credentials = match (&s.username, &s.password) {
            (Some(user), Some(password)) => Some(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            )),
            _ => None,
        };
        tracing::info!(host = %s.host, port = s.port, tls = ?s.tls, connections = s.max_connections, "emails go to the SMTP relay");
        Ok(SmtpRelay {
            host: s.host.clone(),
            port: s.port,
            protection,
            credentials,
            hello: ClientId::default(),
            timeout: Duration::from_millis(s.timeout_ms),
            permits: Semaphore::new(s.max_connections as usize),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Hands one message to the relay on a free connection (an idle one that still answers
    /// NOOP, or a new one); waits while all `email.max_connections` are busy. The exchange
    /// (connecting included, the wait not) is bounded by four times `email.timeout_ms`.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, SmtpError> {
        let Ok(_permit) = self.permits.acquire().await else {
            return Err(SmtpError::Connect(anyhow::anyhow!(
                "the email sender is shutting down"
            )));
        };
        let whole = self.timeout.saturating_mul(4);
        tokio::time::timeout(whole, self.exchange(envelope, message))
            .await
            .unwrap_or_else(|_| {
                Err(SmtpError::Connect(anyhow::anyhow!(
                    "the relay did not finish within {} ms",
                    whole.as_millis()
                )))
            })
    }

    async fn exchange(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, SmtpError> {
        let mut conn = match self.reuse().await {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let result = conn.send(envelope, message).await;
        // lettre closes a connection after any error (a refusal included); only a
        // connection that delivered goes back for the next message.
        if !conn.has_broken() {
            self.lock_idle().push((conn, Instant::now()));
        }
        result.map_err(SmtpError::Smtp)
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently used idle connection that still answers; stale ones are closed.
    async fn reuse(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.lock_idle().pop()?;
            if since.elapsed() < IDLE && conn.test_connected().await {
                return Some(conn);
            }
            conn.abort().await;
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let mut conn = self.open().await.map_err(SmtpError::Connect)?;
        if let Some(credentials) = &self.credentials {
            // A refusal (535) is the relay's answer: final, like a refused message.
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(SmtpError::Smtp)?;
        }
        Ok(conn)
    }

    /// A connection, protected per `email.tls`, greeted; not yet authenticated.
    async fn open(&self) -> anyhow::Result<AsyncSmtpConnection> {
        let addr = (self.host.as_str(), self.port);
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "connecting to {}:{} took longer than {} ms",
                    self.host,
                    self.port,
                    self.timeout.as_millis()
                )
            })?
            .with_context(|| format!("connecting to {}:{}", self.host, self.port))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        let mut conn = match &self.protection {
            Protection::Tls(connector) => {
                let ssl = connector
                    .configure()
                    .and_then(|c| c.into_ssl(&self.host))
                    .context("TLS setup")?;
                let mut tls = SslStream::new(ssl, tcp).context("TLS setup")?;
                tokio::time::timeout(self.timeout, Pin::new(&mut tls).connect())
                    .await
                    .map_err(|_| anyhow::anyhow!("TLS handshake timed out"))?
                    .with_context(|| format!("TLS handshake with {}", self.host))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Tls(tls)), &self.hello).await?
            }
            _ => {
                AsyncSmtpConnection::connect_with_transport(Box::new(Plain(tcp)), &self.hello)
                    .await?
            }
        };
        if let Protection::Starttls(params) = &self.protection {
            if !conn.can_starttls() {
                conn.abort().await;
                anyhow::bail!(
                    "{} does not offer STARTTLS (email.tls = \"starttls\"); nothing was sent in the clear",
                    self.host
                );
            }
            conn.starttls((**params).clone(), &self.hello)
                .await
                .context("STARTTLS")?;
        }
        Ok(conn)
    }
}

/// A TCP stream lettre can take over.
#[derive(Debug)]
struct Plain(TcpStream);

/// A TLS stream over TCP lettre can take over.
#[derive(Debug)]
struct Tls(SslStream<TcpStream>);

macro_rules! delegate_io {
    ($t:ty, $peer:expr) => {
        impl AsyncRead for $t {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut TaskContext<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.0).poll_read(cx, buf)
            }
        }
        impl AsyncWrite for $t {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut TaskContext<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.0).poll_write(cx, buf)
            }
            fn poll_flush(
                mut self: Pin<&mut Self>,
                cx: &mut TaskContext<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.0).poll_flush(cx)
            }
            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut TaskContext<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.0).poll_shutdown(cx)
            }
        }
        impl AsyncTokioStream for $t {
            fn peer_addr(&self) -> io::Result<SocketAddr> {
                #[allow(clippy::redundant_closure_call)]
                ($peer)(self)
            }
        }
    };
}

delegate_io!(Plain, |s: &Plain| s.0.peer_addr());
delegate_io!(Tls, |s: &Tls| s.0.get_ref().peer_addr());
