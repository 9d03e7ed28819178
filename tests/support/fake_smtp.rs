//! A real SMTP server on 127.0.0.1 for tests (plain, TLS from the first byte, or STARTTLS,
//! with a certificate from a throwaway root): greeting, EHLO offering AUTH PLAIN and LOGIN,
//! AUTH checked against the expected credentials, MAIL FROM, RCPT TO, DATA (dot-unstuffed),
//! RSET, NOOP, QUIT. Records each accepted message's envelope and raw data, and can be told
//! to answer `451` to the next N RCPT TO or DATA commands (greylisting, a full queue), or
//! `550` to the next N RCPT TO (a mailbox that does not exist).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use std::pin::Pin;

use openssl::ssl::{Ssl, SslAcceptor, SslMethod};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_openssl::SslStream;

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct SmtpMessage {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent, CRLF line ends, without the terminating dot.
    pub data: String,
    /// The user that authenticated, if any.
    pub user: Option<String>,
    /// Whether it came over TLS (implicit or after STARTTLS).
    pub tls: bool,
}

impl SmtpMessage {
    /// The value of the first header `name` (unfolded), case-insensitive.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut lines: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(last) = lines.last_mut() {
                    last.push_str(line.trim_start());
                    continue;
                }
            }
            lines.push(line.to_string());
        }
        lines.into_iter().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The data with quoted-printable soft line breaks and `=3D` undone, for searching.
    pub fn decoded(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }
}

/// Where a scripted temporary failure is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Rcpt,
    Data,
}

#[derive(Default)]
struct State {
    messages: Vec<SmtpMessage>,
    fail_rcpt: usize,
    fail_data: usize,
    /// RCPT TO commands still to answer `550` (a permanent refusal).
    reject_rcpt: usize,
    /// Every MAIL FROM seen: one per delivery attempt.
    attempts: usize,
    refused_auth: usize,
    /// AUTH exchanges, accepted or refused.
    auths: usize,
    /// Connections accepted, open now, and the most open at once.
    opened: usize,
    open: usize,
    peak_open: usize,
}

/// How the stand-in protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeTls {
    /// Plain text; STARTTLS is not offered.
    None,
    /// TLS from the first byte (port 465 style).
    Implicit,
    /// Plain greeting; EHLO offers STARTTLS, and MAIL FROM is refused before it.
    StartTls,
}

pub struct FakeSmtp {
    port: u16,
    /// The root of the server certificate, for TLS modes.
    ca: Option<openssl::x509::X509>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeSmtp {
    /// A server that requires AUTH with `user` and `password` before MAIL FROM.
    pub async fn start(user: &str, password: &str) -> FakeSmtp {
        Self::start_with(user, password, FakeTls::None).await
    }

    /// The same, protected per `tls` with a certificate for localhost and 127.0.0.1 from a
    /// throwaway root ([`FakeSmtp::ca`]).
    pub async fn start_with(user: &str, password: &str, tls: FakeTls) -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let creds = Arc::new((user.to_string(), password.to_string()));
        let (ca, acceptor) = if tls == FakeTls::None {
            (None, None)
        } else {
            let (ca, ca_key) = crate::fake_apns::make_ca().unwrap();
            let (cert, key) = crate::fake_apns::make_server_cert(&ca, &ca_key).unwrap();
            let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
            b.set_certificate(&cert).unwrap();
            b.set_private_key(&key).unwrap();
            (Some(ca), Some(Arc::new(b.build())))
        };
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                let creds = creds.clone();
                let acceptor = acceptor.clone();
                {
                    let mut s = lock(&state);
                    s.opened += 1;
                    s.open += 1;
                    s.peak_open = s.peak_open.max(s.open);
                }
                tokio::spawn(async move {
                    let _ = connection(stream, tls, acceptor, state.clone(), creds).await;
                    lock(&state).open -= 1;
                });
            }
        });
        FakeSmtp {
            port,
            ca,
            state,
            task,
        }
    }

    /// The root the server certificate chains to (TLS modes only).
    pub fn ca(&self) -> openssl::x509::X509 {
        self.ca.clone().expect("a TLS stand-in")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next `times` RCPT TO (or DATA) commands are answered `451`.
    pub fn fail_next(&self, stage: Stage, times: usize) {
        let mut s = lock(&self.state);
        match stage {
            Stage::Rcpt => s.fail_rcpt += times,
            Stage::Data => s.fail_data += times,
        }
    }

    /// The next `times` RCPT TO commands are answered `550 5.1.1` (no such mailbox).
    pub fn reject_next(&self, times: usize) {
        lock(&self.state).reject_rcpt += times;
    }

    pub fn messages(&self) -> Vec<SmtpMessage> {
        lock(&self.state).messages.clone()
    }

    /// Delivery attempts: MAIL FROM commands seen.
    pub fn attempts(&self) -> usize {
        lock(&self.state).attempts
    }

    pub fn refused_auth(&self) -> usize {
        lock(&self.state).refused_auth
    }

    /// AUTH exchanges seen, accepted or refused.
    pub fn auths(&self) -> usize {
        lock(&self.state).auths
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).opened
    }

    /// The most connections that were open at the same time.
    pub fn peak_connections(&self) -> usize {
        lock(&self.state).peak_open
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn b64(s: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.find('>').unwrap_or(arg.len());
    arg[start..end].to_string()
}

/// One client connection: plain, TLS from the start, or plain until STARTTLS.
async fn connection(
    stream: TcpStream,
    tls: FakeTls,
    acceptor: Option<Arc<SslAcceptor>>,
    state: Arc<Mutex<State>>,
    creds: Arc<(String, String)>,
) -> std::io::Result<()> {
    let handshake = |stream: TcpStream| async {
        let acceptor = acceptor.clone().expect("TLS mode has an acceptor");
        let ssl = Ssl::new(acceptor.context()).map_err(std::io::Error::other)?;
        let mut tls = SslStream::new(ssl, stream).map_err(std::io::Error::other)?;
        Pin::new(&mut tls)
            .accept()
            .await
            .map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>(tls)
    };
    let hello = Session {
        greet: true,
        tls: false,
        offer_starttls: false,
    };
    match tls {
        FakeTls::None => session(stream, hello, &state, &creds).await.map(drop),
        FakeTls::Implicit => {
            let tls = handshake(stream).await?;
            let s = Session { tls: true, ..hello };
            session(tls, s, &state, &creds).await.map(drop)
        }
        FakeTls::StartTls => {
            let s = Session {
                offer_starttls: true,
                ..hello
            };
            if let Some(plain) = session(stream, s, &state, &creds).await? {
                let tls = handshake(plain).await?;
                let s = Session {
                    greet: false,
                    tls: true,
                    offer_starttls: false,
                };
                session(tls, s, &state, &creds).await?;
            }
            Ok(())
        }
    }
}

#[derive(Clone, Copy)]
struct Session {
    /// Send the 220 greeting (not after STARTTLS).
    greet: bool,
    tls: bool,
    /// Offer STARTTLS, and refuse mail before it.
    offer_starttls: bool,
}

/// Speaks SMTP on `stream` until QUIT or the end; returns the stream when the client asked
/// for STARTTLS (answered 220), for the TLS handshake.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    how: Session,
    state: &Mutex<State>,
    creds: &(String, String),
) -> std::io::Result<Option<S>> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read);
    if how.greet {
        write.write_all(b"220 fake.smtp ESMTP ready\r\n").await?;
    }
    let mut user: Option<String> = None;
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            let starttls = if how.offer_starttls {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            format!(
                "250-fake.smtp\r\n{starttls}250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8"
            )
        } else if upper == "STARTTLS" && how.offer_starttls {
            write.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
            return Ok(Some(lines.into_inner().unsplit(write)));
        } else if how.offer_starttls && (upper.starts_with("AUTH") || upper.starts_with("MAIL")) {
            "530 5.7.0 Must issue a STARTTLS command first".into()
        } else if upper.starts_with("HELO") {
            "250 fake.smtp".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let mut payload = command[10..].trim().to_string();
            if payload.is_empty() {
                write.write_all(b"334 \r\n").await?;
                payload.clear();
                lines.read_line(&mut payload).await?;
            }
            let decoded = b64(&payload);
            let mut parts = decoded.split('\0').skip(1);
            let (u, p) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            check(state, creds, u, p, &mut user)
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let mut u = String::new();
            lines.read_line(&mut u).await?;
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let mut p = String::new();
            lines.read_line(&mut p).await?;
            check(state, creds, &b64(&u), &b64(&p), &mut user)
        } else if upper.starts_with("MAIL FROM:") {
            if user.is_none() {
                "530 5.7.0 Authentication required".into()
            } else {
                lock(state).attempts += 1;
                from = Some(address(&command[10..]));
                rcpt.clear();
                "250 2.1.0 Ok".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            let mut s = lock(state);
            if s.reject_rcpt > 0 {
                s.reject_rcpt -= 1;
                "550 5.1.1 Mailbox unavailable".into()
            } else if s.fail_rcpt > 0 {
                s.fail_rcpt -= 1;
                "451 4.7.1 Greylisted, please try again later".into()
            } else if from.is_none() {
                "503 5.5.1 MAIL first".into()
            } else {
                rcpt.push(address(&command[8..]));
                "250 2.1.5 Ok".into()
            }
        } else if upper == "DATA" {
            if rcpt.is_empty() {
                "554 5.5.1 No valid recipients".into()
            } else {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(None);
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    let l = l
                        .strip_prefix('.')
                        .map_or(l.as_str(), |rest| rest)
                        .to_string();
                    data.push_str(&l);
                }
                let data = data.strip_suffix("\r\n").unwrap_or(&data).to_string();
                let mut s = lock(state);
                if s.fail_data > 0 {
                    s.fail_data -= 1;
                    "451 4.3.0 Temporary queue failure, try again later".into()
                } else {
                    s.messages.push(SmtpMessage {
                        mail_from: from.clone().unwrap_or_default(),
                        rcpt_to: rcpt.clone(),
                        data,
                        user: user.clone(),
                        tls: how.tls,
                    });
                    format!("250 2.0.0 Ok: queued as FAKE{}", s.messages.len())
                }
            }
        } else if upper == "RSET" {
            from = None;
            rcpt.clear();
            "250 2.0.0 Ok".into()
        } else if upper == "NOOP" {
            "250 2.0.0 Ok".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(None);
        } else {
            "502 5.5.2 Command not recognized".into()
        };
        write.write_all(format!("{answer}\r\n").as_bytes()).await?;
    }
}

fn check(
    state: &Mutex<State>,
    creds: &(String, String),
    u: &str,
    p: &str,
    user: &mut Option<String>,
) -> String {
    lock(state).auths += 1;
    if u == creds.0 && p == creds.1 {
        *user = Some(u.to_string());
        "235 2.7.0 Authentication successful".into()
    } else {
        lock(state).refused_auth += 1;
        "535 5.7.8 Authentication credentials invalid".into()
    }
}
