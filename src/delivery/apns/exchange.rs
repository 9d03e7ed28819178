//! One push on the wire: the request APNs expects for a pass (apple-webservice.md B.4) and
//! reading its answer.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use h2::RecvStream;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::uri::{self, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};

use super::config::Endpoint;
use super::outcome::Answer;
use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::PushToken;

const APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
const APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
const APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");
const APNS_ID: HeaderName = HeaderName::from_static("apns-id");

/// Wallet ignores the payload; an empty JSON object is the smallest one APNs accepts.
const PAYLOAD: &[u8] = b"{}";
/// Error bodies are a few dozen bytes; anything past this is not read.
const MAX_BODY: usize = 4096;

pub(super) fn request(
    endpoint: &Endpoint,
    topic: &PassTypeId,
    token: &PushToken,
    bearer: Option<&str>,
) -> Result<Request<()>, http::Error> {
    // Built in place rather than through `http::request::Builder`, which moves the whole
    // request on every `.header()`: this runs for every push of a fan-out.
    let mut uri = uri::Parts::default();
    uri.scheme = Some(Scheme::HTTPS);
    uri.authority = Some(endpoint.authority.clone());
    uri.path_and_query = Some(PathAndQuery::try_from(format!(
        "/3/device/{}",
        token.as_str()
    ))?);
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_parts(uri)?;
    let headers = request.headers_mut();
    headers.reserve(5);
    headers.insert(APNS_TOPIC, HeaderValue::from_str(topic.as_str())?);
    // Pass updates are background pushes, which must use priority 5. Static names and values
    // are not parsed again for every push.
    headers.insert(APNS_PUSH_TYPE, HeaderValue::from_static("background"));
    headers.insert(APNS_PRIORITY, HeaderValue::from_static("5"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(jwt) = bearer {
        headers.insert(
            AUTHORIZATION,
            HeaderValue::try_from(format!("bearer {jwt}"))?,
        );
    }
    Ok(request)
}

/// Sends `request` with the `{}` body and returns as soon as the status arrived (a body that
/// breaks off is read as far as it goes). A stream the server has no room for yet waits in
/// h2's queue until one ends: the client's own limit on pushes in flight bounds that queue, so
/// the sender is not asked to be `ready()` first (a handle cloned for one request has nothing
/// pending, and that would only take the connection's lock once more).
pub(super) async fn send(
    mut sender: SendRequest<Bytes>,
    request: Request<()>,
) -> Result<Answer, h2::Error> {
    let (response, mut body) = sender.send_request(request, false)?;
    drop(sender);
    body.send_data(Bytes::from_static(PAYLOAD), true)?;
    let response = response.await?;
    let status = response.status().as_u16();
    let headers = response.headers();
    let apns_id = header_str(headers, &APNS_ID).map(str::to_owned);
    let retry_after = header_str(headers, &RETRY_AFTER)
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = read_body(response.into_body()).await;
    Ok(Answer {
        status,
        apns_id,
        retry_after,
        body,
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn read_body(mut stream: RecvStream) -> Bytes {
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.data().await {
        let Ok(chunk) = chunk else { break };
        // Give the flow-control window back, or a long body would stall the connection.
        let _ = stream.flow_control().release_capacity(chunk.len());
        if body.len() + chunk.len() > MAX_BODY {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    body.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_the_pass_push_headers() {
        let endpoint = Endpoint::parse("https://api.push.apple.com").unwrap();
        let topic = PassTypeId::parse("pass.com.example.loyalty").unwrap();
        let token = PushToken::parse(&"AB".repeat(32)).unwrap();
        let r = request(&endpoint, &topic, &token, Some("jwt")).unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(
            r.uri().to_string(),
            format!("https://api.push.apple.com/3/device/{}", "ab".repeat(32))
        );
        let h = r.headers();
        assert_eq!(h["apns-topic"], "pass.com.example.loyalty");
        assert_eq!(h["apns-push-type"], "background");
        assert_eq!(h["apns-priority"], "5");
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["authorization"], "bearer jwt");
        let r = request(&endpoint, &topic, &token, None).unwrap();
        assert!(r.headers().get("authorization").is_none());
    }
}
