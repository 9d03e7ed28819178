//! Assembling the application: settings in, a bound HTTP server out. `Application::build`
//! binds its listener first so the port is known (tests bind port 0), then runs until stopped.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use base64::Engine as _;
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use tokio::sync::watch;

use crate::accounts::links::LinkKey;
use crate::accounts::Accounts;
use crate::cards::google::GoogleCards;
use crate::cards::tokens::TokenKeys;
use crate::cards::Cards;
use crate::clock::{OsRandom, SharedClock, SharedRandom, SystemClock};
use crate::delivery::webhook::WebhookClient;
use crate::http::limits::HttpLimits;
use crate::keys::KeyCache;
use crate::outbox::{Backoff, Google, Outbox, OutboxConfig};
use crate::settings::Settings;
use crate::state::AppState;
use crate::storage::Store;
use crate::wallet::apple::certs::identity::{self, SigningIdentity};

mod delivery;
mod tls;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    development_certificates: bool,
    workers: Vec<tokio::task::JoinHandle<()>>,
    stop_workers: watch::Sender<bool>,
}

/// The database URL from settings, or the SQLite file in the data directory.
pub fn database_url(settings: &Settings) -> String {
    let url = settings.database.url.expose_secret();
    if url.is_empty() {
        format!(
            "sqlite://{}",
            settings.data_dir.join("passwright.db").display()
        )
    } else {
        url.to_string()
    }
}

/// Connects and migrates.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let db = &settings.database;
    let store = Store::connect_pool(
        &database_url(settings),
        db.max_connections,
        db.min_connections,
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// The key barcodes and links are signed with: from settings, or generated once and kept in
/// the database so every instance shares it.
async fn token_keys(
    settings: &Settings,
    store: &Store,
    clock: &SharedClock,
    random: &SharedRandom,
) -> anyhow::Result<TokenKeys> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded = match &settings.secrets.token_key {
        Some(k) => k.expose_secret().to_string(),
        None => {
            store
                .service_secret(
                    "token_key",
                    || {
                        let mut key = [0u8; 32];
                        random.fill(&mut key);
                        b64.encode(key)
                    },
                    clock.now(),
                )
                .await?
        }
    };
    let key = b64
        .decode(encoded.trim())
        .context("secrets.token_key must be base64")?;
    TokenKeys::derive(&key).context("secrets.token_key")
}

fn outbox_config(settings: &Settings) -> OutboxConfig {
    let ms = std::time::Duration::from_millis;
    let o = &settings.outbox;
    OutboxConfig {
        workers: o.workers,
        batch: o.batch,
        poll: ms(o.poll_ms),
        lease: ms(o.lease_ms),
        backoff: Backoff {
            base: ms(o.retry_base_ms),
            max: ms(o.retry_max_ms),
        },
        max_attempts: o.max_attempts,
        fan_out_batch: o.fan_out_batch,
        campaign_batch: o.campaign_batch,
        retention: std::time::Duration::from_secs(o.retention_hours.saturating_mul(3600)),
        expiry_every: (o.expiry_interval_s > 0)
            .then(|| std::time::Duration::from_secs(o.expiry_interval_s)),
    }
}

/// The console accounts of the configured database, for the CLI (`passwright users`): the
/// same store and link key the running service uses, so the links it prints open there.
pub async fn console_accounts(settings: &Settings) -> anyhow::Result<Accounts> {
    let clock: SharedClock = Arc::new(SystemClock);
    let random: SharedRandom = Arc::new(OsRandom);
    let store = open_store(settings).await?.with_random(random.clone());
    let keys = token_keys(settings, &store, &clock, &random).await?;
    Ok(Accounts {
        store,
        clock,
        random,
        settings: settings.console.clone(),
        links: LinkKey::new(keys.console_link_key()),
    })
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        Self::build_with(settings, Arc::new(SystemClock), Arc::new(OsRandom)).await
    }

    /// Builds with a given clock and randomness (tests pin them).
    pub async fn build_with(
        settings: &Settings,
        clock: SharedClock,
        random: SharedRandom,
    ) -> anyhow::Result<Application> {
        let store = open_store(settings)
            .await?
            .with_change_delay(time::Duration::milliseconds(
                i64::try_from(settings.outbox.coalesce_ms).unwrap_or(i64::MAX),
            ))
            .with_random(random.clone());
        let SigningIdentity {
            signer,
            warnings,
            development,
        } = identity::load(&settings.apple, &settings.data_dir, clock.now())?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        if development {
            tracing::warn!(
                pass_type_id = signer.pass_type_id(),
                "using DEVELOPMENT certificates: passes verify against the development CA only and will not install on a real iPhone; configure apple.signer_cert (see certs.example/README.md)"
            );
        }
        identity::check_programs(&signer, &store.programs(None).await?)?;
        let keys = token_keys(settings, &store, &clock, &random).await?;
        let console_links = LinkKey::new(keys.console_link_key());

        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let base_url = settings.public_base_url(port);
        if !development && !base_url.starts_with("https://") {
            tracing::warn!(
                %base_url,
                "server.public_base_url is not https: Wallet on a device will not register passes for updates"
            );
        }
        let apns = delivery::apns(settings, &signer, development, clock.clone())?;
        let cards = Arc::new(Cards::new(
            signer,
            clock.clone(),
            keys,
            &base_url,
            settings.server.pass_cache_entries,
        ));
        let google = GoogleCards::from_settings(
            &settings.google,
            cards.urls().base(),
            clock.clone(),
            clock.now(),
        )?
        .map(Arc::new);
        let webhook_timeout = settings.webhooks.timeout(settings.outbox.lease_ms);
        if webhook_timeout.as_millis() < u128::from(settings.webhooks.timeout_ms) {
            tracing::warn!(
                timeout_ms = webhook_timeout.as_millis() as u64,
                "webhooks.timeout_ms is capped at half of outbox.lease_ms"
            );
        }
        let webhooks = WebhookClient::new(webhook_timeout)?;
        let messaging = Arc::new(
            delivery::messaging(
                settings,
                &store,
                &clock,
                &random,
                &base_url,
                cards.keys().sample_key().clone(),
            )
            .await?,
        );
        let accounts = Arc::new(Accounts {
            store: store.clone(),
            clock: clock.clone(),
            random: random.clone(),
            settings: settings.console.clone(),
            links: console_links,
        });
        let mut outbox = Outbox::new(
            store.clone(),
            clock.clone(),
            random.clone(),
            apns,
            outbox_config(settings),
        )
        .with_webhooks(webhooks)
        .with_messaging(messaging.clone())
        .with_accounts(accounts.clone());
        if let Some(google) = &google {
            outbox = outbox.with_google(Google::On {
                google: google.clone(),
                cards: cards.clone(),
            });
        }
        let outbox = Arc::new(outbox);
        let state = AppState {
            work: tokio::runtime::Handle::current(),
            store,
            cards,
            api_keys: Arc::new(KeyCache::new(time::Duration::milliseconds(
                i64::try_from(settings.server.api_key_cache_ms).unwrap_or(i64::MAX),
            ))),
            accounts,
            clock,
            random,
            outbox: outbox.clone(),
            google,
            unsubscribe: messaging.unsubscribe.clone(),
        };
        let data = web::Data::new(state.clone());
        let limits = HttpLimits::from_settings(settings);
        let server = HttpServer::new(move || {
            App::new()
                // Wallet appends `/v1/...` to webServiceURL; one configured with a trailing
                // slash yields `//v1/...`, which must still route.
                .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
                .wrap(TracingLogger::default())
                .app_data(data.clone())
                .configure(|cfg| crate::http::configure(cfg, &limits))
        });
        let mut server = match (
            &settings.server.tls_cert_file,
            &settings.server.tls_key_file,
        ) {
            (Some(cert), Some(key)) => {
                tracing::info!(cert = %cert.display(), "serving HTTPS");
                server.listen_openssl(listener, tls::acceptor(cert, key)?)?
            }
            _ => server.listen(listener)?,
        };
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        tracing::info!(%base_url, port, "listening");
        let (stop_workers, stop) = watch::channel(false);
        let workers = outbox.spawn(stop);
        Ok(Application {
            port,
            server: server.run(),
            state,
            development_certificates: development,
            workers,
            stop_workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn development_certificates(&self) -> bool {
        self.development_certificates
    }

    /// Serves until SIGINT/SIGTERM (or the server handle is stopped), then lets the outbox
    /// workers finish the batch in hand (unfinished jobs stay in the outbox) and closes the
    /// store.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let _ = self.stop_workers.send(true);
        for worker in self.workers {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), worker).await;
        }
        self.state.store.close().await;
        served
    }
}
