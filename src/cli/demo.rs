//! `passwright demo`: a working service on a fresh machine in one command. SQLite in the data
//! directory, development certificates, a sample coffee-shop program with tiers, earn rules,
//! rewards and members, a console owner, a staff key for the scanner and a sign-up link, and a
//! new admin key printed once. Running it again reuses the data.

use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use crate::accounts::{links, UserForm};
use crate::clock::{whole_seconds, OsRandom, SystemClock};
use crate::domain::api_key::Role;
use crate::domain::apple_ids::{PassTypeId, TeamId};
use crate::domain::contact::EmailAddress;
use crate::domain::distribution::{LinkCode, LinkKind};
use crate::domain::ids::random_base32;
use crate::domain::ids::ProgramId;
use crate::domain::ledger::{EntryKind, IdempotencyKey, PointsChange};
use crate::domain::member::{Consent, Member, NewMember};
use crate::domain::points::{Amount, Points};
use crate::domain::program::{Design, EarnRules, Program, Tier, Tiers};
use crate::domain::reward::{Reward, RewardInput};
use crate::domain::user::{LinkPurpose, NewPassword};
use crate::settings::Settings;
use crate::startup::Application;
use crate::state::AppState;
use crate::storage::{NewLink, StoreError};

const DEMO_PROGRAM: &str = "Bean There Rewards";

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build_with(&settings, Arc::new(SystemClock), Arc::new(OsRandom)).await?;
    let state = app.state().clone();
    let program = match existing(&state).await? {
        Some(p) => p,
        None => seed(&state).await.context("creating the sample program")?,
    };
    let now = state.clock.now();
    let (_, secret) = crate::keys::create(
        &state.store,
        &OsRandom,
        "demo admin",
        Role::Admin,
        None,
        now,
    )
    .await?;
    let (_, till) = crate::keys::create(
        &state.store,
        &OsRandom,
        "demo till",
        Role::Staff,
        Some(program.id.clone()),
        now,
    )
    .await?;
    let sign_in = demo_owner(&state).await?;
    let enroll = enrollment_link(&state, &program).await?;
    let members = state
        .store
        .members(
            &program.id,
            &crate::storage::MemberQuery {
                limit: 3,
                ..Default::default()
            },
        )
        .await?;
    let base = state.cards.urls().base().to_string();
    println!();
    println!("passwright demo is running at {base}");
    println!("  console: {base}/console");
    match sign_in {
        DemoSignIn::Password(password) => {
            println!("    sign in as {DEMO_OWNER} with the password {password}")
        }
        DemoSignIn::Link(path) => println!(
            "    {DEMO_OWNER} was made on an earlier run; set a new password here (works once): {base}{path}"
        ),
    }
    println!("  staff scanner: {base}/staff");
    println!(
        "    sign in with the staff key (shown once): {}",
        till.expose()
    );
    println!(
        "  sign-up page for customers: {}",
        state.cards.urls().link(&enroll)
    );
    println!("  program: {} ({})", program.name, program.id);
    for m in &members.members {
        println!(
            "  {} ({} points, {}): {}",
            m.name,
            m.balance,
            m.tier.as_deref().unwrap_or("no tier"),
            state.cards.download_url(m)
        );
    }
    println!("  admin API key (shown once): {}", secret.expose());
    println!(
        "  try: curl -H 'Authorization: Bearer {}' {base}/api/v1/programs",
        secret.expose()
    );
    println!("  API description: {base}/api/v1/openapi.json");
    println!("  passes are signed with DEVELOPMENT certificates: they verify, but a real iPhone will refuse them");
    println!();
    app.run_until_stopped().await?;
    Ok(())
}

/// The demo's console owner.
const DEMO_OWNER: &str = "owner@example.com";

/// How the demo owner signs in this time.
enum DemoSignIn {
    /// Made now with this password.
    Password(String),
    /// Made on an earlier run: a one-time link to set a new password.
    Link(String),
}

async fn demo_owner(state: &AppState) -> anyhow::Result<DemoSignIn> {
    let accounts = &state.accounts;
    match state.store.user_by_email(DEMO_OWNER).await {
        Ok((user, _)) => {
            let token = accounts.reset_link(&user, "demo").await?;
            Ok(DemoSignIn::Link(links::path(LinkPurpose::Reset, &token)))
        }
        Err(StoreError::NotFound) => {
            let password = random_base32(state.random.as_ref(), 16);
            let form = UserForm {
                email: DEMO_OWNER,
                name: "Demo Owner",
                role: Role::Admin,
                program: None,
            };
            accounts
                .add_user(
                    &form,
                    Some(&NewPassword::parse(&password)?),
                    false,
                    "demo",
                    "the demo",
                )
                .await?;
            Ok(DemoSignIn::Password(password))
        }
        Err(e) => Err(e.into()),
    }
}

/// The program's sign-up link for customers: the demo's from an earlier run, or a new one.
async fn enrollment_link(state: &AppState, program: &Program) -> anyhow::Result<LinkCode> {
    let links = state.store.links(&program.id, None, None, 100).await?;
    if let Some(link) = links
        .into_iter()
        .find(|l| l.kind == LinkKind::Enroll && l.revoked_at.is_none())
    {
        return Ok(link.code);
    }
    let link = NewLink {
        program_id: program.id.clone(),
        kind: LinkKind::Enroll,
        member_id: None,
        campaign_id: None,
        channel: None,
        label: Some("demo sign-up".into()),
    };
    Ok(state
        .store
        .create_link(&link, state.clock.now())
        .await?
        .code)
}

async fn existing(state: &AppState) -> anyhow::Result<Option<Program>> {
    Ok(state
        .store
        .programs(None)
        .await?
        .into_iter()
        .find(|p| p.name == DEMO_PROGRAM))
}

async fn seed(state: &AppState) -> anyhow::Result<Program> {
    let now = state.clock.now();
    let rng = state.random.as_ref();
    let signer = state.cards.signer();
    let design: Design = serde_json::from_value(json!({
        "colors": { "background": "#3b2314", "foreground": "#fff8ee", "label": "#e0b77a" },
        "logo_text": "Bean There",
        "description": "Bean There coffee rewards card",
        "languages": ["en", "de"],
        "localizations": { "de": {
            "Bronze": "Bronze", "Silver": "Silber", "Gold": "Gold",
            "Bean There coffee rewards card": "Bean There Kaffee-Treuekarte",
            "Terms": "Bedingungen",
            "Points expire 12 months after they are earned.": "Punkte verfallen 12 Monate nach dem Sammeln."
        }},
        "back_fields": [{ "key": "terms", "label": "Terms", "value": "Points expire 12 months after they are earned." }]
    }))?;
    let program = Program {
        id: ProgramId::generate(rng),
        name: DEMO_PROGRAM.into(),
        organization: "Bean There Coffee".into(),
        pass_type_id: PassTypeId::parse(signer.pass_type_id())?,
        team_id: TeamId::parse(signer.team_id())?,
        design: design.validated()?,
        tiers: Tiers::validated(vec![
            Tier {
                name: "Bronze".into(),
                threshold: 0,
                design: None,
            },
            Tier {
                name: "Silver".into(),
                threshold: 250,
                design: None,
            },
            Tier {
                name: "Gold".into(),
                threshold: 1000,
                design: serde_json::from_value(json!({"background_color": "#6b4e16"}))?,
            },
        ])?,
        earn_rules: serde_json::from_value::<EarnRules>(
            json!({"points_per_unit": 1, "multipliers": {"coffee": 2, "beans": "1.5"}}),
        )?
        .validated()?,
        design_version: 1,
        created_at: now,
        updated_at: now,
        pass_modified: whole_seconds(now),
        expiry: None,
    };
    state.store.insert_program(&program).await?;
    for (name, cost, repeatable) in [
        ("Free espresso", 100, true),
        ("Free cake", 180, true),
        ("Bag of house beans", 500, false),
    ] {
        let spec = RewardInput {
            name: name.into(),
            cost,
            repeatable,
            active: true,
        }
        .validated()?;
        state
            .store
            .insert_reward(&Reward::create(&program.id, spec, rng, now))
            .await?;
    }
    let people = [
        ("Ada Lovelace", "ada@example.com", "1200"),
        ("Grace Hopper", "grace@example.com", "140"),
        ("Alan Turing", "alan@example.com", "35.50"),
    ];
    for (i, (name, email, spent)) in people.into_iter().enumerate() {
        let new = NewMember {
            external_id: Some(format!("DEMO-{:04}", i + 1)),
            name: name.into(),
            email: Some(EmailAddress::parse(email)?),
            phone: None,
            consent: Consent {
                email: true,
                sms: false,
            },
        };
        let member = Member::enroll(&program, new, rng, now);
        state
            .store
            .insert_member(
                &member,
                crate::domain::distribution::ConsentSource::Enrollment,
            )
            .await?;
        let points: Points = program
            .earn_rules
            .points_for_purchase(Amount::parse(spent)?, &["coffee".into()])?;
        let change = PointsChange {
            kind: EntryKind::Earn,
            amount: points,
            reason: format!("Welcome purchases of {spent}"),
            actor: "demo".into(),
            idempotency_key: Some(IdempotencyKey::parse(&format!("demo-seed-{}", member.id))?),
            fingerprint: "demo".into(),
            allow_negative: false,
        };
        state
            .store
            .apply_points(&program.id, &member, &program.tiers, &change, now)
            .await?;
    }
    Ok(program)
}
