//! Choosing how this instance reaches APNs: the Pass Type ID certificate as TLS client
//! identity (default), a `.p8` token key when configured, or not at all; and how it sends
//! email and SMS.

use anyhow::Context;
use base64::Engine as _;
use openssl::x509::X509;

use crate::cards::tokens::SampleKey;
use crate::clock::{SharedClock, SharedRandom};
use crate::delivery::apns::{ApnsAuth, ApnsClient, ApnsConfig};
use crate::delivery::email::EmailSender;
use crate::delivery::sms::SmsSender;
use crate::domain::apple_ids::TeamId;
use crate::domain::urls::PublicUrls;
use crate::messaging::unsubscribe::UnsubscribeKey;
use crate::messaging::Messaging;
use crate::outbox::Apns;
use crate::settings::Settings;
use crate::storage::Store;
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
        connections: s.connections.max(1),
        timeout: std::time::Duration::from_millis(s.timeout_ms),
        connect_timeout: std::time::Duration::from_millis(s.timeout_ms.min(10_000)),
    };
    let client = ApnsClient::new(config, clock).context("setting up the APNs client")?;
    tracing::info!(url = %s.base_url(), "pushes go to APNs");
    Ok(Apns::On(std::sync::Arc::new(client)))
}

/// Email and SMS senders from settings, and the unsubscribe key: generated once and kept in
/// the database (its own secret, so rotating the barcode key leaves the unsubscribe links in
/// sent emails working).
pub async fn messaging(
    settings: &Settings,
    store: &Store,
    clock: &SharedClock,
    random: &SharedRandom,
    base_url: &str,
    samples: SampleKey,
) -> anyhow::Result<Messaging> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded = store
        .service_secret(
            "unsubscribe_key",
            || {
                let mut key = [0u8; 32];
                random.fill(&mut key);
                b64.encode(key)
            },
            clock.now(),
        )
        .await?;
    let key = b64
        .decode(encoded.trim())
        .context("the stored unsubscribe key is not base64")?;
    Ok(Messaging {
        email: EmailSender::from_settings(&settings.email, &settings.data_dir)?,
        sms: SmsSender::from_settings(&settings.sms, &settings.data_dir)?,
        unsubscribe: UnsubscribeKey::derive(&key)?,
        urls: PublicUrls::new(base_url),
        max_segments: usize::try_from(settings.sms.max_segments).unwrap_or(usize::MAX),
        samples,
    })
}
