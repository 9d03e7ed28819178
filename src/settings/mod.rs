//! Typed settings, loaded in layers: built-in defaults, an optional TOML file, then
//! environment variables named `PASSWRIGHT__SECTION__KEY`. Unknown keys (all of them, with their
//! full path) are an error, so a typo never silently falls back to a default.

mod console;
mod delivery;
mod google;
mod landing;
mod messaging;
mod webhooks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;

pub use console::ConsoleSettings;
pub use delivery::{ApnsSettings, OutboxSettings, PassKitSettings};
pub use google::GoogleSettings;
pub use landing::LandingSettings;
pub use messaging::{EmailMode, EmailSettings, SmsMode, SmsSettings, SmtpTls};
pub use webhooks::WebhookSettings;

const ENV_PREFIX: &str = "PASSWRIGHT__";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    /// Where the SQLite database, development certificates and the local secret live.
    pub data_dir: PathBuf,
    pub apple: AppleSettings,
    pub secrets: SecretSettings,
    pub log: LogSettings,
    pub apns: ApnsSettings,
    pub outbox: OutboxSettings,
    pub passkit: PassKitSettings,
    pub google: GoogleSettings,
    pub webhooks: WebhookSettings,
    pub landing: LandingSettings,
    pub email: EmailSettings,
    pub sms: SmsSettings,
    pub console: ConsoleSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub host: String,
    #[serde(deserialize_with = "de::number")]
    pub port: u16,
    /// The address customers' phones reach this service on: pass links, `webServiceURL`,
    /// image URLs. Production needs https (Wallet refuses plain http web services).
    pub public_base_url: String,
    /// Largest JSON request body accepted, in bytes.
    #[serde(deserialize_with = "de::number")]
    pub max_json_bytes: usize,
    /// Largest image upload accepted, in bytes.
    #[serde(deserialize_with = "de::number")]
    pub max_image_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    #[serde(deserialize_with = "de::number")]
    pub workers: usize,
    /// How many signed passes each instance keeps in memory.
    #[serde(deserialize_with = "de::number")]
    pub pass_cache_entries: usize,
    /// How long an instance trusts an API key it looked up, in milliseconds; 0 looks every
    /// request up. A key revoked on another instance or with the CLI is refused here at
    /// most this much later (on the instance that revoked it, at once).
    #[serde(deserialize_with = "de::number")]
    pub api_key_cache_ms: u64,
    /// Serve HTTPS directly with this certificate chain (PEM, the server's certificate
    /// first) and `tls_key_file`, no reverse proxy needed: a phone's camera works in the
    /// staff scanner only over HTTPS. Both or neither.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. Empty means the SQLite file
    /// `passwright.db` in the data directory.
    pub url: SecretString,
    #[serde(deserialize_with = "de::number")]
    pub max_connections: u32,
    /// Connections the pool keeps open while idle, so a burst does not wait for new ones. In
    /// the fan-out bench on PostgreSQL, the first range reads waited for the pool to open
    /// connections, and the first push came 0.92 s after the change; 0.29 s with all 16 kept
    /// open, 0.52 s with 8.
    #[serde(deserialize_with = "de::number")]
    pub min_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AppleSettings {
    /// Pass Type ID certificate, PEM. Goes with `signer_key`.
    pub signer_cert: Option<PathBuf>,
    /// Private key of the Pass Type ID certificate, PEM.
    pub signer_key: Option<PathBuf>,
    /// Alternative to cert + key: the PKCS#12 bundle exported from Keychain.
    pub signer_p12: Option<PathBuf>,
    pub signer_p12_password: Option<SecretString>,
    /// Apple WWDR intermediate (G4) that issued the signer certificate, PEM or DER.
    pub wwdr_cert: Option<PathBuf>,
    /// Pass type id used for development certificates when none are configured.
    pub dev_pass_type_id: String,
    /// Team id used for development certificates when none are configured.
    pub dev_team_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SecretSettings {
    /// Key for barcode tokens and pass links (base64, at least 32 bytes). When empty, the key
    /// is generated once and kept in the database, so that every instance shares it.
    pub token_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// A tracing filter, e.g. `info` or `passwright=debug,actix_web=info`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            data_dir: PathBuf::from("data"),
            apple: AppleSettings::default(),
            secrets: SecretSettings::default(),
            log: LogSettings::default(),
            apns: ApnsSettings::default(),
            outbox: OutboxSettings::default(),
            passkit: PassKitSettings::default(),
            google: GoogleSettings::default(),
            webhooks: WebhookSettings::default(),
            landing: LandingSettings::default(),
            email: EmailSettings::default(),
            sms: SmsSettings::default(),
            console: ConsoleSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".into(),
            port: 8080,
            public_base_url: String::new(),
            max_json_bytes: 256 * 1024,
            max_image_bytes: 10 * 1024 * 1024,
            workers: 0,
            pass_cache_entries: 10_000,
            api_key_cache_ms: 1_000,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: SecretString::from(String::new()),
            max_connections: 16,
            min_connections: 8,
        }
    }
}

impl Default for AppleSettings {
    fn default() -> Self {
        AppleSettings {
            signer_cert: None,
            signer_key: None,
            signer_p12: None,
            signer_p12_password: None,
            wwdr_cert: None,
            dev_pass_type_id: "pass.dev.passwright.loyalty".into(),
            dev_team_id: "PWDEVTEAM1".into(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

impl Settings {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &vars)
    }

    /// Same as [`Settings::load`] with the environment passed in, for tests.
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> anyhow::Result<Settings> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read settings file {}", path.display()))?;
                toml::from_str::<toml::Table>(&text).with_context(|| {
                    format!("settings file {} is not valid TOML", path.display())
                })?
            }
            None => toml::Table::new(),
        };
        merge_env(&mut table, env)?;
        let mut unknown = Vec::new();
        let settings: Settings = serde_ignored::deserialize(toml::Value::Table(table), |path| {
            unknown.push(path.to_string())
        })
        .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        if !unknown.is_empty() {
            anyhow::bail!("unknown settings: {}", unknown.join(", "));
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let db = &self.database;
        if db.max_connections == 0 || db.min_connections > db.max_connections {
            anyhow::bail!(
                "database.max_connections must be at least 1 and database.min_connections at most \
                 max_connections, got {} and {}",
                db.max_connections,
                db.min_connections
            );
        }
        if self.server.tls_cert_file.is_some() != self.server.tls_key_file.is_some() {
            anyhow::bail!("server: tls_cert_file and tls_key_file go together");
        }
        if !self.server.public_base_url.is_empty() {
            let url = &self.server.public_base_url;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!(
                    "server.public_base_url must start with http:// or https://, got {url:?}"
                );
            }
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            anyhow::bail!(
                "log.format must be \"text\" or \"json\", got {:?}",
                self.log.format
            );
        }
        if !matches!(self.apns.environment.as_str(), "production" | "sandbox") {
            anyhow::bail!(
                "apns.environment must be \"production\" or \"sandbox\", got {:?}",
                self.apns.environment
            );
        }
        if self.apns.token_key_file.is_some() != self.apns.token_key_id.is_some() {
            anyhow::bail!("apns: token_key_file and token_key_id go together");
        }
        if self.outbox.lease_ms <= self.apns.timeout_ms {
            anyhow::bail!(
                "outbox.lease_ms ({}) must be longer than apns.timeout_ms ({}), or a slow push could be sent twice",
                self.outbox.lease_ms,
                self.apns.timeout_ms
            );
        }
        self.console.check()?;
        if self.landing.enroll_burst == 0 || self.landing.enroll_per_minute == 0 {
            anyhow::bail!("landing.enroll_burst and landing.enroll_per_minute must be at least 1");
        }
        self.email.validate()?;
        self.sms.validate()?;
        if self.webhooks.timeout_ms == 0 {
            anyhow::bail!("webhooks.timeout_ms must be at least 1");
        }
        if self.outbox.batch == 0
            || self.outbox.max_attempts == 0
            || self.outbox.fan_out_batch == 0
            || self.outbox.campaign_batch == 0
        {
            anyhow::bail!(
                "outbox.batch, outbox.max_attempts, outbox.fan_out_batch and outbox.campaign_batch must be at least 1"
            );
        }
        if !self.google.issuer_id.is_empty()
            && !self.google.issuer_id.bytes().all(|b| b.is_ascii_digit())
        {
            anyhow::bail!("google.issuer_id must be the numeric issuer id from the Google Pay & Wallet Console");
        }
        if self.apple.signer_p12.is_some()
            && (self.apple.signer_cert.is_some() || self.apple.signer_key.is_some())
        {
            anyhow::bail!("apple: set either signer_p12 or signer_cert + signer_key, not both");
        }
        Ok(())
    }

    /// The public base URL without a trailing slash, defaulting to the listening address.
    pub fn public_base_url(&self, bound_port: u16) -> String {
        if self.server.public_base_url.is_empty() {
            // A wildcard listen address is no address a phone can reach.
            let host = match self.server.host.as_str() {
                "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
                h => h,
            };
            let scheme = if self.server.tls_cert_file.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}:{bound_port}")
        } else {
            self.server
                .public_base_url
                .trim_end_matches('/')
                .to_string()
        }
    }
}

/// Every `PASSWRIGHT__A__B=value` becomes `[a] b = "value"`; values stay strings and the
/// numeric fields accept strings, so a password made of digits is never turned into a number.
fn merge_env(table: &mut toml::Table, env: &[(String, String)]) -> anyhow::Result<()> {
    let mut sorted: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in env {
        if let Some(rest) = k.strip_prefix(ENV_PREFIX) {
            sorted.insert(rest, v);
        }
    }
    for (key, value) in sorted {
        let parts: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if parts.iter().any(|p| p.is_empty()) {
            anyhow::bail!("environment variable {ENV_PREFIX}{key} has an empty section");
        }
        let (last, sections) = parts.split_last().context("empty environment key")?;
        let mut cursor = &mut *table;
        for section in sections {
            let entry = cursor
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cursor = entry
                .as_table_mut()
                .with_context(|| format!("{ENV_PREFIX}{key}: {section} is not a section"))?;
        }
        cursor.insert(last.clone(), toml::Value::String(value.to_string()));
    }
    Ok(())
}

mod de {
    use serde::{Deserialize, Deserializer};
    use std::str::FromStr;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum FlagOrString {
        Flag(bool),
        Text(String),
    }

    /// `true`/`false`, also as strings from the environment.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match FlagOrString::deserialize(d)? {
            FlagOrString::Flag(b) => Ok(b),
            FlagOrString::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(serde::de::Error::custom(format!(
                    "{s:?} is not true or false"
                ))),
            },
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(i64),
        Text(String),
    }

    pub fn number<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr + TryFrom<i64>,
    {
        match NumberOrString::deserialize(d)? {
            NumberOrString::Number(n) => {
                T::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is out of range")))
            }
            NumberOrString::Text(s) => s
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a valid number"))),
        }
    }
}

#[cfg(test)]
mod tests;
