//! The `passwright` command line: serve, migrate, demo, certs check, keys create/revoke, users add/list,
//! device logs and outbox jobs.

mod certs;
mod demo;
mod distribution;
mod keys;
mod ops;
mod users;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::settings::Settings;
use crate::startup::{open_store, Application};

#[derive(Debug, Parser)]
#[command(
    name = "passwright",
    version,
    about = "Loyalty cards for Apple Wallet and Google Wallet"
)]
pub struct Cli {
    /// Settings file (TOML). Environment variables PASSWRIGHT__SECTION__KEY override it.
    #[arg(long, short, global = true, env = "PASSWRIGHT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Run locally with SQLite, development certificates and a sample program.
    Demo,
    /// Check the Apple certificates.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the people who sign in to the console (the first owner above all).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Show what Wallet devices logged (newest first).
    DeviceLogs {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Inspect the outbox: jobs by state, and sending failed jobs again.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Run points expiry once now (serve also runs it every outbox.expiry_interval_s).
    Expire,
    /// Import data from files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Send campaigns and follow them.
    Campaigns {
        #[command(subcommand)]
        command: CampaignsCommand,
    },
    /// Print the REST API's OpenAPI document (docs/openapi.json) as the code describes it.
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Enroll members from a CSV file (columns: external_id, name, email, phone,
    /// consent_email, consent_sms). Every row is checked first; one bad row imports nothing.
    Members {
        #[arg(long)]
        program: String,
        file: PathBuf,
        /// A draft campaign with a list audience the new members join.
        #[arg(long)]
        campaign: Option<String>,
        /// Send that campaign after the import.
        #[arg(long)]
        send: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// Send a draft campaign (or switch an automation on) and show its progress.
    Send { id: String },
    /// Show a campaign's messages and funnel.
    Status { id: String },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs (newest first).
    List {
        /// pending, running, done or failed
        #[arg(long, default_value = "failed")]
        state: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a failed job again.
    Retry { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Load the signing certificate, key and WWDR intermediate, and check them against every program.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// admin, marketer or staff
        #[arg(long)]
        role: String,
        /// Limit the key to one program.
        #[arg(long)]
        program: Option<String>,
    },
    /// Revoke an API key by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a console user and print the one-time link that sets their password.
    Add {
        /// The address they sign in with.
        email: String,
        /// owner, marketer or staff
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// Limit them to one program (not for owners).
        #[arg(long)]
        program: Option<String>,
        /// Also email them the link (needs email configured).
        #[arg(long)]
        email_link: bool,
    },
    /// Print a one-time link that sets a new password for a console user (an owner who
    /// forgot theirs and gets no email).
    ResetLink { email: String },
    /// List the console users.
    List,
}

/// Runs the command; the error, if any, is printed by `main` with its causes.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        // Needs no settings: the document is the same for every deployment.
        print!(
            "{}",
            crate::http::document_text().map_err(anyhow::Error::msg)?
        );
        return Ok(());
    }
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => {
            Application::build(&settings)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            let store = open_store(&settings).await?;
            store.close().await;
            println!("database is up to date");
        }
        Command::Demo => demo::run(settings).await?,
        Command::Certs {
            command: CertsCommand::Check,
        } => certs::check(&settings).await?,
        Command::Keys { command } => keys::run(&settings, command).await?,
        Command::Users { command } => users::run(&settings, command).await?,
        Command::DeviceLogs { limit } => ops::device_logs(&settings, limit).await?,
        Command::Jobs { command } => ops::jobs(&settings, command).await?,
        Command::Expire => ops::expire(&settings).await?,
        Command::Import {
            command:
                ImportCommand::Members {
                    program,
                    file,
                    campaign,
                    send,
                },
        } => {
            distribution::import_members(&settings, &program, &file, campaign.as_deref(), send)
                .await?
        }
        Command::Campaigns { command } => distribution::campaigns(&settings, command).await?,
        Command::Openapi => {}
    }
    Ok(())
}
