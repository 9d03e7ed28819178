//! The public addresses passwright hands out, all under the one base URL the settings name:
//! link pages, pass downloads, the PassKit web service and unsubscribe pages.

use super::distribution::LinkCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    /// Without a trailing slash.
    base: String,
}

impl PublicUrls {
    pub fn new(base: &str) -> PublicUrls {
        PublicUrls {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The page a link opens (`/c/{code}`).
    pub fn link(&self, code: &LinkCode) -> String {
        format!("{}/c/{code}", self.base)
    }

    /// `webServiceURL` for passes: the PassKit web service lives under `/wallet`.
    pub fn web_service(&self) -> String {
        format!("{}/wallet", self.base)
    }

    /// A pass download whose secret part is `token`.
    pub fn pass_download(&self, token: &str) -> String {
        format!("{}/passes/{token}.pkpass", self.base)
    }

    /// The page of a sample card whose secret part is `token` (the designer's "send a
    /// sample to my phone").
    pub fn sample(&self, token: &str) -> String {
        format!("{}/sample/{token}", self.base)
    }

    /// The unsubscribe page of `token`.
    pub fn unsubscribe(&self, token: &str) -> String {
        format!("{}/u/{token}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_is_under_the_base_without_a_double_slash() {
        let urls = PublicUrls::new("https://cards.example.com/");
        let code = LinkCode::from_trusted("k7mq2xzd".into());
        assert_eq!(urls.base(), "https://cards.example.com");
        assert_eq!(urls.link(&code), "https://cards.example.com/c/k7mq2xzd");
        assert_eq!(urls.web_service(), "https://cards.example.com/wallet");
        assert_eq!(
            urls.pass_download("abc"),
            "https://cards.example.com/passes/abc.pkpass"
        );
        assert_eq!(urls.unsubscribe("t"), "https://cards.example.com/u/t");
        assert_eq!(urls.sample("s"), "https://cards.example.com/sample/s");
    }
}
