//! Choosing how this instance reaches APNs: the Pass Type ID certificate as TLS client
//! identity (default), a `.p8` token key when configured, or not at all.

use anyhow::Context;
use openssl::x509::X509;

use crate::clock::SharedClock;
use crate::delivery::apns::{ApnsAuth, ApnsClient, ApnsConfig};
use crate::domain::apple_ids::TeamId;
use crate::outbox::Apns;
use crate::settings::Settings;
use crate::wallet::apple::PassSigner;

pub fn apns(
    settings: &Settings,
    signer: &PassSigner,
    development: bool,
    clock: SharedClock,
) -> anyhow::Result<Apns> {
    let s = &settings.apns;
    if !s.enabled {
        return Ok(Apns::Off {
            reason: "apns.enabled is false".into(),
        });
    }
    if development && s.is_apple() {
        tracing::warn!("development certificates cannot push to Apple: pushes are logged, not sent (set apns.url to a local stand-in to try them)");
        return Ok(Apns::Off {
            reason: "development certificates cannot reach Apple".into(),
        });
    }
    let extra_ca = match &s.ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("apns.ca_file: cannot read {}", path.display()))?;
            X509::stack_from_pem(&pem).with_context(|| {
                format!("apns.ca_file: {} is not PEM certificates", path.display())
            })?
        }
        None => Vec::new(),
    };
    let auth = match (&s.token_key_file, &s.token_key_id) {
        (Some(file), Some(key_id)) => {
            let key = std::fs::read(file)
                .with_context(|| format!("apns.token_key_file: cannot read {}", file.display()))?;
            ApnsAuth::Token {
                key_pem: key.into(),
                key_id: key_id.clone(),
                team_id: TeamId::parse(signer.team_id())
                    .context("the signer certificate's team id")?,
            }
        }
        _ => ApnsAuth::Certificate {
            cert: signer.certificate().to_owned(),
            key: signer.private_key().clone(),
            chain: vec![signer.intermediate().to_owned()],
        },
    };
    let config = ApnsConfig {
        url: s.base_url(),
        extra_ca,
        auth,
        max_in_flight: s.max_in_flight.max(1),
        timeout: std::time::Duration::from_millis(s.timeout_ms),
        connect_timeout: std::time::Duration::from_millis(s.timeout_ms.min(10_000)),
    };
    let client = ApnsClient::new(config, clock).context("setting up the APNs client")?;
    tracing::info!(url = %s.base_url(), "pushes go to APNs");
    Ok(Apns::On(std::sync::Arc::new(client)))
}
