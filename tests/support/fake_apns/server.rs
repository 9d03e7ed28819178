//! The stand-in's server side: TLS connections accepted (ALPN `h2`, the client certificate's
//! subject UID kept), HTTP/2 served with the `h2` crate with GOAWAY and cut connections on
//! request, and each request recorded, checked and answered as scripted, after the delay asked.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::RecvStream;
use http::{HeaderMap, Request, Response};
use openssl::nid::Nid;
use openssl::ssl::{Ssl, SslAcceptor};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_openssl::SslStream;

use super::{lock, Recorded, Reply, Shared};

pub(super) async fn accept_loop(listener: TcpListener, acceptor: SslAcceptor, shared: Arc<Shared>) {
    let acceptor = Arc::new(acceptor);
    let mut connections = JoinSet::new();
    while let Ok((tcp, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(
            tcp,
            Arc::clone(&acceptor),
            Arc::clone(&shared),
        ));
    }
}

async fn serve_connection(tcp: TcpStream, acceptor: Arc<SslAcceptor>, shared: Arc<Shared>) {
    let Ok(tls) = handshake(tcp, &acceptor).await else {
        shared.handshake_failures.fetch_add(1, Ordering::SeqCst);
        shared.changed.notify_waiters();
        return;
    };
    let number = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let peer_uid = tls.ssl().peer_certificate().and_then(|cert| {
        let entry = cert.subject_name().entries_by_nid(Nid::USERID).next()?;
        String::from_utf8(entry.data().as_slice().to_vec()).ok()
    });
    let mut builder = h2::server::Builder::new();
    if let Some(max) = shared.options.max_concurrent_streams {
        builder.max_concurrent_streams(max);
    }
    let Ok(mut conn) = builder.handshake::<_, Bytes>(tls).await else {
        return;
    };
    let peer = Arc::new(Peer { number, peer_uid });
    let mut requests = JoinSet::new();
    let mut seen = 0;
    while let Some(Ok((request, respond))) = conn.accept().await {
        while requests.try_join_next().is_some() {}
        seen += 1;
        if shared.options.drop_after.is_some_and(|n| seen > n) {
            shared.record(head(&request, &peer, &shared), None);
            // Dropping the connection closes the socket: no GOAWAY, no answers.
            return;
        }
        if shared.options.goaway_after == Some(seen) {
            conn.graceful_shutdown();
        }
        requests.spawn(answer(
            request,
            respond,
            Arc::clone(&peer),
            Arc::clone(&shared),
        ));
    }
    // Finish the answers still being delayed before the connection goes.
    while requests.join_next().await.is_some() {}
}

async fn handshake(tcp: TcpStream, acceptor: &SslAcceptor) -> anyhow::Result<SslStream<TcpStream>> {
    let ssl = Ssl::new(acceptor.context())?;
    let mut tls = SslStream::new(ssl, tcp)?;
    Pin::new(&mut tls).accept().await?;
    Ok(tls)
}

struct Peer {
    number: usize,
    /// Subject UID of the client certificate (the pass type id of a Pass Type ID certificate).
    peer_uid: Option<String>,
}

async fn answer(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    peer: Arc<Peer>,
    shared: Arc<Shared>,
) {
    let _in_flight = InFlight::enter(&shared);
    let mut record = head(&request, &peer, &shared);
    record.body = read_body(request.into_body()).await.to_vec();
    let reply = match shared.check(&record, peer.peer_uid.as_deref()) {
        Err((status, reason)) => Reply::error(status, reason),
        Ok(()) => record
            .token
            .as_deref()
            .and_then(|t| lock(&shared.scripts).get_mut(t)?.pop_front())
            .unwrap_or(Reply::Ok),
    };
    let (status, reason, body) = reply.parts();
    record.reason = reason;
    shared.record(record, Some(status));
    if !shared.options.delay.is_zero() {
        tokio::time::sleep(shared.options.delay).await;
    }
    let mut response = Response::builder().status(status);
    if status == 200 {
        let n = shared.answered.fetch_add(1, Ordering::SeqCst) + 1;
        response = response.header("apns-id", format!("00000000-0000-4000-8000-{n:012X}"));
    } else {
        response = response.header("content-type", "application/json");
    }
    let end = body.is_empty();
    if let Ok(mut stream) = respond.send_response(response.body(()).unwrap(), end) {
        if !end {
            let _ = stream.send_data(body, true);
        }
    }
}

/// Counts a request from arrival to answer (or until its task is aborted).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Reply {
    /// Status, reason and body as APNs would send them.
    fn parts(&self) -> (u16, Option<String>, Bytes) {
        match self {
            Reply::Ok => (200, None, Bytes::new()),
            Reply::Error { status, reason } => (
                *status,
                Some(reason.clone()),
                json(&serde_json::json!({ "reason": reason })),
            ),
            Reply::Unregistered { timestamp_ms } => (
                410,
                Some("Unregistered".into()),
                json(&serde_json::json!({ "reason": "Unregistered", "timestamp": timestamp_ms })),
            ),
        }
    }
}

fn json(value: &serde_json::Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// What a request says about itself, before its body is read.
fn head(request: &Request<RecvStream>, peer: &Peer, shared: &Shared) -> Recorded {
    let h = request.headers();
    let path = request.uri().path().to_owned();
    let token = path
        .strip_prefix("/3/device/")
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    Recorded {
        connection: peer.number,
        method: request.method().to_string(),
        path,
        token,
        topic: header(h, "apns-topic"),
        push_type: header(h, "apns-push-type"),
        priority: header(h, "apns-priority"),
        content_type: header(h, "content-type"),
        authorization: header(h, "authorization"),
        body: Vec::new(),
        at: shared.options.clock.now(),
        status: None,
        reason: None,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(mut body: RecvStream) -> Bytes {
    let mut all = BytesMut::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        all.extend_from_slice(&chunk);
    }
    all.freeze()
}
