//! `passwright certs check`: the same checks `serve` makes at start-up, as a report.

use anyhow::Context;

use crate::settings::Settings;
use crate::startup::open_store;
use crate::wallet::apple::certs::identity;

pub async fn check(settings: &Settings) -> anyhow::Result<()> {
    let now = crate::clock::system_now();
    let identity = identity::load(&settings.apple, &settings.data_dir, now)?;
    let signer = &identity.signer;
    if identity.development {
        println!(
            "DEVELOPMENT certificates (generated in {}): passes will not install on a real device",
            settings.data_dir.join("dev-certs").display()
        );
    }
    println!("pass type id: {}", signer.pass_type_id());
    println!("team id:      {}", signer.team_id());
    println!(
        "expires:      {}",
        crate::clock::rfc3339(signer.not_after())
    );
    println!("chain:        signer issued by the configured intermediate");
    for w in &identity.warnings {
        println!("warning: {w}");
    }
    let store = open_store(settings)
        .await
        .context("checking programs needs the database")?;
    let programs = store.programs(None).await?;
    identity::check_programs(signer, &programs)?;
    println!("programs:     {} use this certificate", programs.len());
    store.close().await;
    println!("ok");
    Ok(())
}
