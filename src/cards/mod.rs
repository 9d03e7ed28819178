//! Issuing cards: turns a program and a member into the signed Apple pass (and, later, the
//! Google object), with the caches that keep that cheap. A pass is a pure rendering of
//! (design version, member version), so both caches are keyed by those versions and no
//! cache entry is ever authoritative.

pub mod google;
pub mod tokens;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use lru::LruCache;
use time::OffsetDateTime;

use crate::clock::{whole_seconds, Random, SharedClock};
use crate::domain::apple_ids::{AuthToken, SerialNumber};
use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::{Consent, Member, MemberStatus};
use crate::domain::program::Program;
use crate::domain::urls::PublicUrls;
use crate::storage::{Store, StoreError};
use crate::wallet::apple::pass_json::{self, PassContext};
use crate::wallet::apple::{build_pkpass, PassAssets, PassSigner};
use crate::wallet::artwork;
use tokens::TokenKeys;

/// A signed `.pkpass` ready to send.
#[derive(Clone)]
pub struct SignedPass {
    /// Shared, so serving a cached pass copies nothing.
    pub bytes: bytes::Bytes,
    pub last_modified: OffsetDateTime,
    pub file_name: String,
}

struct CachedPass {
    design_version: i64,
    member_version: i64,
    pass: SignedPass,
}

struct PreparedDesign {
    version: i64,
    assets: Arc<PassAssets>,
    /// Every image of the design by file name (the pass's nine and Google's two): uploaded
    /// ones, and the rest drawn in the program's colours.
    images: Arc<HashMap<String, bytes::Bytes>>,
}

/// How many passes were signed and how many were served from the cache.
#[derive(Debug, Default)]
pub struct PassCounters {
    pub signed: AtomicU64,
    pub cache_hits: AtomicU64,
}

pub struct Cards {
    signer: Arc<PassSigner>,
    /// Passes are signed at its time (`signingTime`).
    clock: SharedClock,
    keys: TokenKeys,
    urls: PublicUrls,
    /// `webServiceURL` for passes: the PassKit web service lives under `/wallet`.
    web_service_url: String,
    designs: Mutex<HashMap<ProgramId, Arc<PreparedDesign>>>,
    passes: Mutex<LruCache<String, CachedPass>>,
    pub counters: PassCounters,
}

impl Cards {
    pub fn new(
        signer: PassSigner,
        clock: SharedClock,
        keys: TokenKeys,
        public_base_url: &str,
        cache_entries: usize,
    ) -> Cards {
        let urls = PublicUrls::new(public_base_url);
        Cards {
            signer: Arc::new(signer),
            clock,
            keys,
            web_service_url: urls.web_service(),
            urls,
            designs: Mutex::new(HashMap::new()),
            passes: Mutex::new(LruCache::new(
                NonZeroUsize::new(cache_entries.max(1)).unwrap_or(NonZeroUsize::MIN),
            )),
            counters: PassCounters::default(),
        }
    }

    pub fn signer(&self) -> &PassSigner {
        &self.signer
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// The public addresses cards and links point to.
    pub fn urls(&self) -> &PublicUrls {
        &self.urls
    }

    /// `webServiceURL` for passes: the PassKit web service lives under `/wallet`.
    pub fn web_service_url(&self) -> &str {
        &self.web_service_url
    }

    /// What the member's barcode carries.
    pub fn card_token(&self, member: &Member) -> String {
        self.keys.card_token(&member.serial, member.card_generation)
    }

    /// The public link that downloads the member's pass: unguessable, and dead once the card
    /// is voided or re-issued.
    pub fn download_url(&self, member: &Member) -> String {
        self.urls
            .pass_download(&self.keys.link_token(&member.serial, member.card_generation))
    }

    /// The member's current signed pass, from the cache when neither the design nor the member
    /// changed since it was signed.
    pub async fn apple_pass(
        &self,
        store: &Store,
        program: &Program,
        member: &Member,
    ) -> Result<SignedPass, StoreError> {
        let key = member.serial.as_str();
        if let Some(hit) = self.cached(key, program.design_version, member.version) {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        let pass = self.sign(store, program, member).await?;
        if let Ok(mut cache) = self.passes.lock() {
            cache.put(
                key.to_string(),
                CachedPass {
                    design_version: program.design_version,
                    member_version: member.version,
                    pass: pass.clone(),
                },
            );
        }
        Ok(pass)
    }

    /// A freshly signed pass of the program's saved design for a new sample member, stored
    /// and cached nowhere (the designer's samples).
    pub async fn sample_pass(
        &self,
        store: &Store,
        program: &Program,
        random: &dyn Random,
    ) -> Result<SignedPass, StoreError> {
        let member = sample_member(program, random, self.clock.now());
        self.sign(store, program, &member).await
    }

    async fn sign(
        &self,
        store: &Store,
        program: &Program,
        member: &Member,
    ) -> Result<SignedPass, StoreError> {
        let assets = self.assets(store, program).await?;
        let pass_json = pass_json::render(
            program,
            member,
            &PassContext {
                web_service_url: &self.web_service_url,
                barcode_message: &self.card_token(member),
            },
        );
        let signer = self.signer.clone();
        let now = self.clock.now();
        let bytes =
            tokio::task::spawn_blocking(move || build_pkpass(&pass_json, &assets, &signer, now))
                .await
                .context("pass signing task failed")?
                .context("building the pass failed")?;
        self.counters.signed.fetch_add(1, Ordering::Relaxed);
        let pass = SignedPass {
            bytes: bytes::Bytes::from(bytes),
            last_modified: program.pass_modified.max(member.pass_modified),
            file_name: file_name(program),
        };
        Ok(pass)
    }

    fn cached(&self, serial: &str, design_version: i64, member_version: i64) -> Option<SignedPass> {
        let mut cache = self.passes.lock().ok()?;
        let entry = cache.get(serial)?;
        (entry.design_version == design_version && entry.member_version == member_version)
            .then(|| entry.pass.clone())
    }

    /// Images and translations of the program's current design, hashed once per version.
    async fn assets(
        &self,
        store: &Store,
        program: &Program,
    ) -> Result<Arc<PassAssets>, StoreError> {
        Ok(self.prepared(store, program).await?.assets.clone())
    }

    /// One image of the program's current design (`logo@2x.png`, `google-hero.png`, ...):
    /// uploaded, or drawn in its colours. `None` for a name that is no image.
    pub async fn image(
        &self,
        store: &Store,
        program: &Program,
        name: &str,
    ) -> Result<Option<bytes::Bytes>, StoreError> {
        Ok(self
            .prepared(store, program)
            .await?
            .images
            .get(name)
            .cloned())
    }

    async fn prepared(
        &self,
        store: &Store,
        program: &Program,
    ) -> Result<Arc<PreparedDesign>, StoreError> {
        if let Some(d) = self
            .designs
            .lock()
            .ok()
            .and_then(|m| m.get(&program.id).cloned())
        {
            if d.version == program.design_version {
                return Ok(d);
            }
        }
        let uploaded = store.images(&program.id).await?;
        let design = &program.design;
        let (colors, brand) = (design.colors.clone(), program.organization.clone());
        let name_in_logo = design.logo_text.is_none();
        let drawn =
            tokio::task::spawn_blocking(move || artwork::drawn(&colors, &brand, name_in_logo))
                .await
                .context("drawing the default images failed")?
                .context("drawing the default images failed")?;
        let mut images: HashMap<String, Vec<u8>> = drawn.into_iter().collect();
        let names: Vec<String> = uploaded.iter().map(|i| i.name.clone()).collect();
        for image in uploaded {
            images.insert(image.name, image.content);
        }
        // A kind uploaded slot by slot has no Google image of its own: Google shows its @3x.
        for (google, source) in [
            (artwork::GOOGLE_LOGO, "icon@3x.png"),
            (artwork::GOOGLE_HERO, "strip@3x.png"),
        ] {
            let own = names.iter().any(|n| n == google);
            if let Some(at3) = images
                .get(source)
                .filter(|_| !own && names.iter().any(|n| n == source))
            {
                images.insert(google.to_owned(), at3.clone());
            }
        }
        let mut files: Vec<(String, Vec<u8>)> = images
            .iter()
            .filter(|(name, _)| !name.starts_with("google-"))
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.extend(pass_json::localizations(program));
        let assets = Arc::new(PassAssets::new(files).context("preparing the pass images")?);
        let prepared = Arc::new(PreparedDesign {
            version: program.design_version,
            assets,
            images: Arc::new(
                images
                    .into_iter()
                    .map(|(n, b)| (n, bytes::Bytes::from(b)))
                    .collect(),
            ),
        });
        if let Ok(mut designs) = self.designs.lock() {
            designs.insert(program.id.clone(), prepared.clone());
        }
        Ok(prepared)
    }
}

/// A member who is not stored, for the designer's preview and sample pass: Alex Sample,
/// 120 points of 320 ever earned, in the tier those reach, joined `now`.
pub fn sample_member(program: &Program, random: &dyn Random, now: OffsetDateTime) -> Member {
    Member {
        id: MemberId::generate(random),
        program_id: program.id.clone(),
        external_id: None,
        name: "Alex Sample".into(),
        email: None,
        phone: None,
        consent: Consent::default(),
        status: MemberStatus::Active,
        balance: 120,
        lifetime_points: 320,
        tier: program.tiers.tier_for(320).map(|t| t.name.clone()),
        tier_held: false,
        version: 1,
        card_generation: 1,
        serial: SerialNumber::generate(random),
        auth_token: AuthToken::generate(random),
        created_at: now,
        updated_at: now,
        pass_modified: whole_seconds(now),
        expiring: None,
    }
}

/// `Bean There.pkpass`, with only characters safe in a `Content-Disposition` filename.
fn file_name(program: &Program) -> String {
    let cleaned: String = program
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "card.pkpass".to_string()
    } else {
        format!("{cleaned}.pkpass")
    }
}
