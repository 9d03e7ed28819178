//! Why a Google Wallet client cannot be built. Calls themselves never fail with an error: they
//! end in a [`super::GoogleOutcome`].

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
