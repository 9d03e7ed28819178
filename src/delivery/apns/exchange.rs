//! One push on the wire: the request APNs expects for a pass (apple-webservice.md B.4) and
//! reading its answer.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use h2::RecvStream;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::uri::Scheme;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};

use super::config::Endpoint;
use super::outcome::Answer;
use crate::domain::apple_ids::PassTypeId;
use crate::domain::device::PushToken;

const APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
const APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
const APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");

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
    let uri = Uri::builder()
        .scheme(Scheme::HTTPS)
        .authority(endpoint.authority.clone())
        .path_and_query(format!("/3/device/{}", token.as_str()))
        .build()?;
    // Static names and values are not parsed again for every push.
    let mut request = Request::post(uri)
        .header(APNS_TOPIC, topic.as_str())
        // Pass updates are background pushes, which must use priority 5.
        .header(APNS_PUSH_TYPE, HeaderValue::from_static("background"))
        .header(APNS_PRIORITY, HeaderValue::from_static("5"))
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(jwt) = bearer {
        request = request.header(AUTHORIZATION, format!("bearer {jwt}"));
    }
    request.body(())
}

/// Sends `request` with the `{}` body once the connection has room for another stream, and
/// returns as soon as the status arrived (a body that breaks off is read as far as it goes).
pub(super) async fn send(
    sender: SendRequest<Bytes>,
    request: Request<()>,
) -> Result<Answer, h2::Error> {
    let mut sender = sender.ready().await?;
    let (response, mut body) = sender.send_request(request, false)?;
    body.send_data(Bytes::from_static(PAYLOAD), true)?;
    let response = response.await?;
    let status = response.status().as_u16();
    let headers = response.headers();
    let apns_id = header_str(headers, "apns-id").map(str::to_owned);
    let retry_after = header_str(headers, RETRY_AFTER.as_str())
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

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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
