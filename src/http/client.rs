//! Who sent a request: the client address the rate limits count (enrollment, console
//! sign-in), and whether a form came from our own page.
//!
//! Forms that hold no session (enrollment, console sign-in and password reset requests) are
//! protected from cross-site posts by an Origin check, not a form token: they grant nothing to
//! whoever sends them, so there is no session to ride; what is left to stop is another site
//! making a visitor's browser act unseen (enroll someone, sign them in to an account of the
//! attacker's). Browsers name the page a POST comes from in `Origin` (our pages send
//! `Referrer-Policy: same-origin`, so it is our real origin and not `null`); a token in the
//! form would not stop that, since anyone can fetch the form and its token first. Requests
//! with neither `Origin` nor `Referer` come from programs, not pages, and are let through:
//! they could fetch any token just the same, and the per-address limits bound them. Forms of
//! a signed-in console user carry the session's CSRF token as well (`http::console`).

use actix_web::http::header;
use actix_web::HttpRequest;

/// The address the rate limit counts: the peer's, or the proxy's `X-Forwarded-For` when the
/// operator said the proxy can be trusted.
pub fn address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(ip) = req.connection_info().realip_remote_addr() {
            return ip.to_string();
        }
    }
    req.peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string())
}

/// `scheme://host[:port]` of a URL, lower-cased, as browsers write it in `Origin`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}").to_ascii_lowercase())
}

/// Whether the request came from a page of `public_base_url`'s origin, or from no page.
pub fn same_origin(req: &HttpRequest, public_base_url: &str) -> bool {
    let Some(ours) = origin_of(public_base_url) else {
        return false;
    };
    let named = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().ok().and_then(origin_of))
    };
    match named(header::ORIGIN) {
        // "null" (a sandboxed frame, a data: URL) does not parse and is refused.
        Some(origin) => origin.as_deref() == Some(ours.as_str()),
        None => match named(header::REFERER) {
            Some(referer) => referer.as_deref() == Some(ours.as_str()),
            None => true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    const BASE: &str = "https://Cards.example.com/loyalty";

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin_of(BASE).as_deref(),
            Some("https://cards.example.com")
        );
        let with = |name, value| {
            TestRequest::default()
                .insert_header((name, value))
                .to_http_request()
        };
        assert!(same_origin(
            &with(header::ORIGIN, "https://cards.example.com"),
            BASE
        ));
        assert!(!same_origin(
            &with(header::ORIGIN, "https://evil.example"),
            BASE
        ));
        assert!(!same_origin(
            &with(header::ORIGIN, "http://cards.example.com"),
            BASE
        ));
        assert!(!same_origin(&with(header::ORIGIN, "null"), BASE));
        assert!(same_origin(
            &with(header::REFERER, "https://cards.example.com/c/abcdefgh"),
            BASE
        ));
        assert!(!same_origin(
            &with(
                header::REFERER,
                "https://cards.example.com.evil.example/c/x"
            ),
            BASE
        ));
        assert!(same_origin(&TestRequest::default().to_http_request(), BASE));
    }
}
