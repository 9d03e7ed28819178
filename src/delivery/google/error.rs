//! Why a Google Wallet client cannot be built. Calls themselves never fail with an error: they
//! end in a [`super::GoogleOutcome`]; [`describe`] words a request that got no answer.

/// A configuration problem found while building the client; the reader is an operator.
#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    #[error("Google {what} URL {url:?} cannot be used: {problem}")]
    InvalidUrl {
        what: &'static str,
        url: String,
        problem: &'static str,
    },
    #[error("cannot set up the HTTP client for Google")]
    Http(#[source] reqwest::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A transport failure in a few words, with its causes; timeouts said plainly.
pub(super) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer from Google in time".into();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
