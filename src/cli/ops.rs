//! `passwright device-logs` and `passwright jobs list|retry`: what operators look at when
//! passes do not update; and `passwright expire`, points expiry on demand.

use super::JobsCommand;
use crate::clock::{from_micros, rfc3339};
use crate::settings::Settings;
use crate::startup::open_store;

pub async fn device_logs(settings: &Settings, limit: u32) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let logs = store.device_logs(limit).await?;
    if logs.is_empty() {
        println!("no device logs");
    }
    for (at, message) in logs {
        println!("{}  {message}", rfc3339(from_micros(at)));
    }
    store.close().await;
    Ok(())
}

pub async fn jobs(settings: &Settings, command: JobsCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match command {
        JobsCommand::List { state, limit } => {
            if !matches!(state.as_str(), "pending" | "running" | "done" | "failed") {
                anyhow::bail!("--state must be pending, running, done or failed");
            }
            let stats = store.outbox_stats().await?;
            println!(
                "outbox: {} pending, {} running, {} failed",
                stats.pending, stats.running, stats.failed
            );
            for j in store.jobs_in_state(&state, limit).await? {
                println!(
                    "#{} {} attempts={} created={} {}\n    {}",
                    j.id,
                    j.kind,
                    j.attempts,
                    rfc3339(from_micros(j.created_at)),
                    j.last_error.as_deref().unwrap_or(""),
                    j.payload
                );
            }
        }
        JobsCommand::Retry { id } => {
            if store
                .retry_failed_job(id, crate::clock::system_now())
                .await?
            {
                println!("job #{id} is pending again");
            } else {
                anyhow::bail!("no failed job #{id}");
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn expire(settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let run = crate::redemption::expiry::run(&store, crate::clock::system_now()).await?;
    println!(
        "expired {} points of {} members; {} new reminders",
        run.points_expired, run.members_expired, run.reminders
    );
    store.close().await;
    Ok(())
}
