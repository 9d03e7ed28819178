//! Choosing and checking the Apple signing identity at start-up and in `certs check`:
//! configured files when there are any, otherwise a labelled development PKI in the data
//! directory. Every problem is an error that names the file and what is wrong.

use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;
use time::OffsetDateTime;

use crate::domain::program::Program;
use crate::settings::AppleSettings;
use crate::wallet::apple::certs::devca::{ensure_dev_certs, DevPkiOptions};
use crate::wallet::apple::{CertFiles, CertWarning, PassSigner, SignerFiles};

/// The loaded signer and what was learnt while loading it.
pub struct SigningIdentity {
    pub signer: PassSigner,
    pub warnings: Vec<CertWarning>,
    /// True when the development PKI is in use: passes will not install on real devices.
    pub development: bool,
}

/// The configured certificate files, or `None` when nothing is configured.
pub fn configured_files(apple: &AppleSettings) -> anyhow::Result<Option<CertFiles>> {
    let signer = match (&apple.signer_cert, &apple.signer_key, &apple.signer_p12) {
        (None, None, None) => {
            if apple.wwdr_cert.is_some() {
                anyhow::bail!("apple.wwdr_cert is set but no signer certificate (apple.signer_cert + apple.signer_key, or apple.signer_p12)");
            }
            return Ok(None);
        }
        (Some(cert), Some(key), None) => SignerFiles::Pem {
            cert: cert.clone(),
            key: key.clone(),
        },
        (Some(_), None, None) => {
            anyhow::bail!("apple.signer_cert is set but apple.signer_key is not")
        }
        (None, Some(_), None) => {
            anyhow::bail!("apple.signer_key is set but apple.signer_cert is not")
        }
        (None, None, Some(p12)) => SignerFiles::Pkcs12 {
            path: p12.clone(),
            password: apple
                .signer_p12_password
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
        },
        _ => anyhow::bail!("apple: set either signer_p12 or signer_cert + signer_key, not both"),
    };
    let wwdr = apple
        .wwdr_cert
        .clone()
        .context("apple.wwdr_cert is required: the Apple WWDR intermediate (G4) that issued the signer certificate")?;
    Ok(Some(CertFiles { signer, wwdr }))
}

/// Loads the configured identity, or creates/reuses the development one under `data_dir`.
pub fn load(
    apple: &AppleSettings,
    data_dir: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<SigningIdentity> {
    let (files, development) = match configured_files(apple)? {
        Some(files) => (files, false),
        None => {
            let dir = data_dir.join("dev-certs");
            let opts = DevPkiOptions::new(
                apple.dev_pass_type_id.clone(),
                apple.dev_team_id.clone(),
                now,
            );
            let (files, created) = ensure_dev_certs(&dir, &opts).with_context(|| {
                format!("creating development certificates in {}", dir.display())
            })?;
            if created {
                tracing::warn!(dir = %dir.display(), "generated a development signing certificate");
            }
            (files, true)
        }
    };
    let signer = PassSigner::load(&files, now)?;
    let warnings = signer.check(now);
    Ok(SigningIdentity {
        signer,
        warnings,
        development,
    })
}

/// Every program must use the certificate's pass type id and team id.
pub fn check_programs(signer: &PassSigner, programs: &[Program]) -> anyhow::Result<()> {
    for p in programs {
        signer
            .ensure_matches(p.pass_type_id.as_str(), p.team_id.as_str())
            .with_context(|| format!("program {} ({})", p.id, p.name))?;
    }
    Ok(())
}
