//! Where the Google Wallet client sends its requests and how long it waits: the walletobjects
//! base URL and the token endpoint, both replaceable so tests can point them at a local
//! stand-in.

use std::time::Duration;

use reqwest::Url;

use super::error::GoogleError;

pub const DEFAULT_API_BASE_URL: &str = "https://walletobjects.googleapis.com/walletobjects/v1";

#[derive(Debug, Clone)]
pub struct GoogleApiConfig {
    /// The walletobjects API root, without a trailing slash: [`DEFAULT_API_BASE_URL`] or a
    /// stand-in.
    pub api_base_url: String,
    /// The OAuth token endpoint; `None` takes `token_uri` from the service-account key file.
    pub token_url: Option<String>,
    /// For one HTTP request (API or token), from connecting to the complete answer.
    pub timeout: Duration,
}

impl Default for GoogleApiConfig {
    fn default() -> Self {
        GoogleApiConfig {
            api_base_url: DEFAULT_API_BASE_URL.into(),
            token_url: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Checks a configured URL: HTTPS, except plain HTTP to this machine (a stand-in), since
/// bearer tokens and signed assertions travel over it. No query, fragment or credentials.
pub(super) fn checked_url(what: &'static str, url: &str) -> Result<String, GoogleError> {
    let invalid = |problem| GoogleError::InvalidUrl {
        what,
        url: url.to_owned(),
        problem,
    };
    let parsed = Url::parse(url).map_err(|_| invalid("not an absolute URL"))?;
    let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if local => {}
        "http" => return Err(invalid("use https (plain http only to localhost)")),
        _ => return Err(invalid("not an http(s) URL")),
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("no query or fragment allowed"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("user information is not allowed"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_local() {
        assert_eq!(
            checked_url("API", &format!("{DEFAULT_API_BASE_URL}/")).unwrap(),
            DEFAULT_API_BASE_URL
        );
        for good in [
            "http://127.0.0.1:8080/walletobjects/v1",
            "http://localhost:1/token",
            "http://[::1]:9/token",
            "https://oauth2.googleapis.com/token",
        ] {
            assert!(checked_url("token", good).is_ok(), "{good}");
        }
        for bad in [
            "http://walletobjects.googleapis.com/walletobjects/v1",
            "ftp://127.0.0.1/x",
            "https://oauth2.googleapis.com/token?x=1",
            "https://user:pw@oauth2.googleapis.com/token",
            "walletobjects.googleapis.com",
            "",
        ] {
            assert!(checked_url("token", bad).is_err(), "{bad}");
        }
    }
}
