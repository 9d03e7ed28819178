//! Helpers shared by the benches (`mod common;` in each): the `openssl speed` limit that
//! throughput figures are compared with.

pub mod server;
pub mod stand_ins;

use std::process::Command;

/// `openssl speed` runs around measurements: `close` measures again and returns the mean of
/// the runs just before and just after, which becomes the "before" of the next measurement.
pub struct Bracket {
    before: f64,
}

impl Bracket {
    pub fn new() -> Bracket {
        Bracket {
            before: openssl_rsa2048_signs_per_sec(),
        }
    }

    pub fn close(&mut self) -> f64 {
        let after = openssl_rsa2048_signs_per_sec();
        let mean = (self.before + after) / 2.0;
        self.before = after;
        mean
    }
}

/// RSA-2048 signs per second on one core, from `openssl speed -seconds 3 rsa2048` (which
/// divides by the CPU user time of its process, not by wall time).
pub fn openssl_rsa2048_signs_per_sec() -> f64 {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048"])
        .output()
        .expect("openssl CLI");
    let text = String::from_utf8_lossy(&out.stdout);
    // "rsa 2048 bits 0.000612s 0.000018s   1634.9  55555.6"
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("rsa 2048 bits"))
        .expect("openssl speed output");
    let cols: Vec<&str> = line.split_whitespace().collect();
    cols[5].parse().expect("sign/s column")
}

/// A program with Bronze (0) and Gold (500) tiers and default earn rules, for the benches.
pub fn program(
    name: &str,
    organization: &str,
    design: passwright::domain::program::Design,
    pass_type_id: &str,
    team_id: &str,
) -> passwright::domain::program::Program {
    use passwright::clock::OsRandom;
    use passwright::domain::apple_ids::{PassTypeId, TeamId};
    use passwright::domain::ids::ProgramId;
    use passwright::domain::program::{EarnRules, Program, Tier, Tiers};
    let tier = |name: &str, threshold| Tier {
        name: name.into(),
        threshold,
        design: None,
    };
    let now = passwright::clock::system_now();
    Program {
        id: ProgramId::generate(&OsRandom),
        name: name.into(),
        organization: organization.into(),
        pass_type_id: PassTypeId::parse(pass_type_id).unwrap(),
        team_id: TeamId::parse(team_id).unwrap(),
        design: design.validated().unwrap(),
        tiers: Tiers::validated(vec![tier("Bronze", 0), tier("Gold", 500)]).unwrap(),
        earn_rules: EarnRules::default(),
        design_version: 1,
        created_at: now,
        updated_at: now,
        pass_modified: now,
        expiry: None,
    }
}

/// An active Bronze member of `program` with no points, for the benches.
pub fn member(
    program: &passwright::domain::program::Program,
) -> passwright::domain::member::Member {
    use passwright::clock::OsRandom;
    use passwright::domain::apple_ids::{AuthToken, SerialNumber};
    use passwright::domain::ids::MemberId;
    use passwright::domain::member::{Consent, Member, MemberStatus};
    let now = passwright::clock::system_now();
    Member {
        id: MemberId::generate(&OsRandom),
        program_id: program.id.clone(),
        external_id: Some("B-1".into()),
        name: "Bench Member".into(),
        email: None,
        phone: None,
        consent: Consent::default(),
        status: MemberStatus::Active,
        balance: 0,
        lifetime_points: 0,
        tier: Some("Bronze".into()),
        tier_held: false,
        version: 1,
        card_generation: 1,
        serial: SerialNumber::generate(&OsRandom),
        auth_token: AuthToken::generate(&OsRandom),
        created_at: now,
        updated_at: now,
        pass_modified: now,
        expiring: None,
    }
}

/// A new, empty database on the PostgreSQL server `admin` names (`pw_bench_<what>_<pid>`);
/// its URL.
#[allow(dead_code)] // only the benches that run on PostgreSQL use it
pub async fn fresh_database(admin: &str, what: &str) -> String {
    let name = format!("pw_bench_{what}_{}", std::process::id());
    let conn = sqlx::PgPool::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&conn)
        .await
        .unwrap();
    conn.close().await;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{name}")
}

/// Drops a bench's database (`database`: its URL or its name), once the bench is done
/// with it.
#[allow(dead_code)] // only the benches that run on PostgreSQL use it
pub async fn drop_database(admin: &str, database: &str) {
    let name = database.rsplit('/').next().unwrap_or_default();
    assert!(
        name.starts_with("pw_bench_"),
        "not a bench database: {database}"
    );
    let conn = sqlx::PgPool::connect(admin).await.unwrap();
    // FORCE: the application's pool may still be open (an in-process application has no
    // stop handle in the benches; a killed server's connections linger briefly).
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&conn)
        .await
        .unwrap();
    conn.close().await;
}
