//! `passwright users add|reset-link|list`: console users from the command line, above all the first
//! owner of a fresh install (after that, owners invite people from `/console/users`).

use super::UsersCommand;
use crate::accounts::{links, AccountError, UserForm};
use crate::domain::ids::ProgramId;
use crate::domain::user::{parse_role, role_label, user_email, LinkPurpose};
use crate::settings::Settings;
use crate::startup::console_accounts;
use crate::storage::{Conflict, StoreError};

pub async fn run(settings: &Settings, command: UsersCommand) -> anyhow::Result<()> {
    let accounts = console_accounts(settings).await?;
    let base = settings.public_base_url(settings.server.port);
    match command {
        UsersCommand::Add {
            email,
            role,
            name,
            program,
            email_link,
        } => {
            let role = parse_role(&role)?;
            let program = program.as_deref().map(ProgramId::parse).transpose()?;
            let form = UserForm {
                email: &email,
                name: name.as_deref().unwrap_or(""),
                role,
                program,
            };
            let (user, token) = accounts
                .add_user(&form, None, email_link, "cli", "the console's operator")
                .await
                .map_err(|e| match e {
                    AccountError::Store(StoreError::Conflict(Conflict::EmailTaken)) => {
                        anyhow::anyhow!("there is already a console user {email}")
                    }
                    other => other.into(),
                })?;
            println!(
                "added {} {} ({}){}",
                role_label(user.role).to_lowercase(),
                user.email,
                user.id,
                user.program_id
                    .as_ref()
                    .map(|p| format!(" for program {p}"))
                    .unwrap_or_default()
            );
            if let Some(token) = token {
                let link = format!("{base}{}", links::path(LinkPurpose::Invite, &token));
                if email_link {
                    println!("an invitation was emailed; the same link:");
                } else {
                    println!(
                        "open this link to choose the password (it works once, for {} hours):",
                        settings.console.invite_hours
                    );
                }
                println!("  {link}");
            }
        }
        UsersCommand::ResetLink { email } => {
            let email = user_email(&email)?;
            let (user, _) = accounts
                .store
                .user_by_email(&email)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => anyhow::anyhow!("there is no console user {email}"),
                    other => other.into(),
                })?;
            let token = accounts.reset_link(&user, "cli").await?;
            println!(
                "open this link to set a new password for {} (it works once, for {} minutes):",
                user.email, settings.console.reset_minutes
            );
            println!("  {base}{}", links::path(LinkPurpose::Reset, &token));
        }
        UsersCommand::List => {
            for u in accounts.store.users(None).await? {
                let state = if u.disabled_at.is_some() {
                    "switched off"
                } else if u.has_password {
                    "active"
                } else {
                    "invited"
                };
                println!(
                    "{}  {:<8}  {:<12}  {}  {}",
                    u.id,
                    role_label(u.role).to_lowercase(),
                    state,
                    u.email,
                    u.program_id.map(|p| p.to_string()).unwrap_or_default()
                );
            }
        }
    }
    accounts.store.close().await;
    Ok(())
}
