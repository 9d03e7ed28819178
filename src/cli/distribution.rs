//! `passwright import members` and `passwright campaigns send|status`: the bulk work
//! marketers run from a terminal, with progress bars.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::CampaignsCommand;
use crate::clock::OsRandom;
use crate::domain::campaign::CampaignStatus;
use crate::domain::ids::{CampaignId, ProgramId};
use crate::domain::import::parse_members;
use crate::settings::Settings;
use crate::startup::open_store;
use crate::storage::Store;

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    // The template is a constant; a bad one would fail every run, so this cannot fail here.
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Imports members from a CSV file: every row checked first (every problem printed), then
/// all written in one transaction, or nothing.
pub async fn import_members(
    settings: &Settings,
    program: &str,
    file: &Path,
    campaign: Option<&str>,
    send: bool,
) -> anyhow::Result<()> {
    let program = ProgramId::parse(program).map_err(|e| anyhow::anyhow!("--program: {e}"))?;
    let campaign = campaign
        .map(CampaignId::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--campaign: {e}"))?;
    if send && campaign.is_none() {
        anyhow::bail!("--send needs --campaign");
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let lines = bytes
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1);
    let store = open_store(settings).await?;
    let program = store.program(&program).await.context("no such program")?;
    let checking = bar(lines as u64, "checked");
    let parsed = parse_members(&bytes, &mut |n| checking.set_position(n as u64));
    checking.finish();
    let rows = match parsed {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                eprintln!("row {}: {}: {}", e.row, e.field, e.message);
            }
            anyhow::bail!(
                "{} problem(s) in {}; nothing was imported",
                errors.len(),
                file.display()
            );
        }
    };
    let writing = bar(rows.len() as u64, "imported");
    let result = store
        .import_members(
            &program,
            rows,
            campaign.as_ref(),
            &OsRandom,
            crate::clock::system_now(),
            &mut |n| writing.set_position(n as u64),
        )
        .await?;
    writing.finish();
    let ids = match result {
        Ok(ids) => ids,
        Err(errors) => {
            for e in &errors {
                eprintln!("row {}: {}: {}", e.row, e.field, e.message);
            }
            anyhow::bail!("{} problem(s); nothing was imported", errors.len());
        }
    };
    println!("imported {} members into {}", ids.len(), program.name);
    if let (true, Some(campaign)) = (send, &campaign) {
        start_and_watch(&store, campaign).await?;
    }
    store.close().await;
    Ok(())
}

pub async fn campaigns(settings: &Settings, command: CampaignsCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match command {
        CampaignsCommand::Send { id } => {
            let id = CampaignId::parse(&id).map_err(|e| anyhow::anyhow!("{e}"))?;
            start_and_watch(&store, &id).await?;
        }
        CampaignsCommand::Status { id } => {
            let id = CampaignId::parse(&id).map_err(|e| anyhow::anyhow!("{e}"))?;
            let c = store.campaign(&id).await.context("no such campaign")?;
            let p = store.campaign_progress(&id).await?;
            let f = store.campaign_funnel(&id).await?;
            println!("{} ({}, {})", c.name, c.channel, c.status.as_str());
            println!(
                "messages: {} queued, {} delivered, {} failed, {} skipped",
                p.queued, p.delivered, p.failed, p.skipped
            );
            for (reason, n) in &p.skipped_by_reason {
                println!("  skipped, {reason}: {n}");
            }
            println!(
                "funnel: sent {} -> delivered {} -> clicked {} -> installed {} -> redeemed {}",
                f.sent, f.delivered, f.clicked, f.installed, f.redeemed
            );
        }
    }
    store.close().await;
    Ok(())
}

/// Starts the campaign and shows its messages going out. The running service's outbox
/// workers do the sending; this only watches, and can be stopped at any time.
async fn start_and_watch(store: &Store, id: &CampaignId) -> anyhow::Result<()> {
    let now = crate::clock::system_now();
    let campaign = store.campaign(id).await.context("no such campaign")?;
    let (audience, _) = store.audience_size(&campaign, now).await?;
    let Some(started) = store.start_campaign(id, now).await? else {
        anyhow::bail!(
            "the campaign is {}; only a draft (or a paused automation) can be sent",
            campaign.status.as_str()
        );
    };
    if started.status == CampaignStatus::Active {
        println!(
            "automation switched on: it runs now for {audience} members, then every {} hours",
            started.automation.map_or(0, |a| a.every_hours)
        );
        return Ok(());
    }
    println!("sending to {audience} members; the service's workers deliver (Ctrl-C stops watching, not sending)");
    let progress = bar(audience as u64, "done");
    loop {
        let p = store.campaign_progress(id).await?;
        let settled = p.delivered + p.failed + p.skipped;
        progress.set_position(settled as u64);
        // Sent: every batch is in; nothing queued: every message has its outcome.
        let c = store.campaign(id).await?;
        if c.status == CampaignStatus::Sent && p.queued == 0 {
            progress.finish();
            println!(
                "{} delivered, {} failed, {} skipped",
                p.delivered, p.failed, p.skipped
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
