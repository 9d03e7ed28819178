//! Certificate problems stop start-up and `passwright certs check` with an error that names the
//! file and what is wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use passwright::clock::{OsRandom, SystemClock};
use passwright::startup::Application;
use passwright::wallet::apple::certs::devca::{generate, DevPki, DevPkiOptions};
use time::Duration;

use crate::helpers::*;

fn pki_with(pass_type_id: &str, team_id: &str, tweak: impl FnOnce(&mut DevPkiOptions)) -> DevPki {
    let mut opts = DevPkiOptions::new(pass_type_id, team_id, passwright::clock::system_now());
    tweak(&mut opts);
    generate(&opts).unwrap()
}

struct Case {
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

/// Settings as environment variables (so the same case drives the library and the CLI binary).
fn case(
    data: &Path,
    db: &str,
    files: &[(&str, PathBuf)],
    extra: &[(&str, &str)],
    dir: tempfile::TempDir,
) -> Case {
    let mut env: Vec<(String, String)> = vec![
        ("PASSWRIGHT__DATA_DIR".into(), data.display().to_string()),
        ("PASSWRIGHT__DATABASE__URL".into(), db.into()),
        ("PASSWRIGHT__SERVER__PORT".into(), "0".into()),
        ("PASSWRIGHT__LOG__LEVEL".into(), "error".into()),
    ];
    for (k, p) in files {
        env.push((
            format!("PASSWRIGHT__APPLE__{}", k.to_uppercase()),
            p.display().to_string(),
        ));
    }
    for (k, v) in extra {
        env.push((k.to_string(), v.to_string()));
    }
    Case { env, _dir: dir }
}

async fn startup_error(c: &Case) -> String {
    let settings = passwright::settings::Settings::load_from(None, &c.env).unwrap();
    match Application::build_with(&settings, Arc::new(SystemClock), Arc::new(OsRandom)).await {
        Ok(_) => panic!("start-up should have failed"),
        Err(e) => format!("{e:#}"),
    }
}

fn cli_check(c: &Case) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passwright"))
        .args(["certs", "check"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(c.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn pem_files(dir: &Path, pki: &DevPki) -> Vec<(&'static str, PathBuf)> {
    vec![
        (
            "signer_cert",
            write(dir, "signer.pem", &pki.signer_cert_pem().unwrap()),
        ),
        (
            "signer_key",
            write(dir, "signer.key", &pki.signer_key_pem().unwrap()),
        ),
        (
            "wwdr_cert",
            write(dir, "wwdr.pem", &pki.wwdr_pem().unwrap()),
        ),
    ]
}

/// Each broken configuration fails at start-up and in `certs check` with the same clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_problems_are_clear_errors() {
    let good = pki_with(PASS_TYPE_ID, TEAM_ID, |_| {});
    let expired = pki_with(PASS_TYPE_ID, TEAM_ID, |o| {
        o.signer_not_before = o.now - Duration::days(400);
        o.signer_not_after = o.now - Duration::days(2);
    });
    let other_ca = pki_with(PASS_TYPE_ID, TEAM_ID, |_| {});

    type Setup = Box<
        dyn Fn(
            &Path,
        ) -> (
            Vec<(&'static str, PathBuf)>,
            Vec<(&'static str, &'static str)>,
        ),
    >;
    let good_for = |pki: DevPki| move |dir: &Path| (pem_files(dir, &pki), vec![]);
    let cases: Vec<(&str, Setup, Vec<&str>)> = vec![
        (
            "expired",
            Box::new(good_for(expired)),
            vec!["signer.pem", "expired"],
        ),
        (
            "wrong intermediate",
            Box::new({
                let good = good.clone();
                let other = other_ca.clone();
                move |dir: &Path| {
                    let mut f = pem_files(dir, &good);
                    f[2] = (
                        "wwdr_cert",
                        write(dir, "other-wwdr.pem", &other.wwdr_pem().unwrap()),
                    );
                    (f, vec![])
                }
            }),
            vec!["other-wwdr.pem", "missing or wrong intermediate"],
        ),
        (
            "missing intermediate",
            Box::new({
                let good = good.clone();
                move |dir: &Path| {
                    let mut f = pem_files(dir, &good);
                    f[2] = ("wwdr_cert", dir.join("AppleWWDRCAG4.pem"));
                    (f, vec![])
                }
            }),
            vec!["AppleWWDRCAG4.pem", "cannot read"],
        ),
        (
            "wrong p12 password",
            Box::new({
                let good = good.clone();
                move |dir: &Path| {
                    let p12 = write(
                        dir,
                        "pass.p12",
                        &good.to_pkcs12("right horse battery").unwrap(),
                    );
                    let wwdr = write(dir, "wwdr.pem", &good.wwdr_pem().unwrap());
                    (
                        vec![("signer_p12", p12), ("wwdr_cert", wwdr)],
                        vec![("PASSWRIGHT__APPLE__SIGNER_P12_PASSWORD", "wrong")],
                    )
                }
            }),
            vec!["pass.p12", "wrong password"],
        ),
        (
            "key does not match",
            Box::new({
                let good = good.clone();
                let other = other_ca.clone();
                move |dir: &Path| {
                    let mut f = pem_files(dir, &good);
                    f[1] = (
                        "signer_key",
                        write(dir, "other.key", &other.signer_key_pem().unwrap()),
                    );
                    (f, vec![])
                }
            }),
            vec!["other.key", "does not match"],
        ),
    ];
    for (name, setup, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (files, extra) = setup(dir.path());
        let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        let data = dir.path().join("data");
        let c = case(&data, &db, &files, &extra, dir);
        let err = startup_error(&c).await;
        let (ok, cli) = cli_check(&c);
        assert!(!ok, "{name}: certs check should fail\n{cli}");
        for needle in &expect {
            assert!(
                err.contains(needle),
                "{name}: start-up error lacks {needle:?}: {err}"
            );
            assert!(
                cli.contains(needle),
                "{name}: certs check output lacks {needle:?}: {cli}"
            );
        }
    }
}

/// Programs created under one certificate refuse to start under a certificate for another pass
/// type id or team; the right PKCS#12 password works; `certs check` reports success and expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_must_match_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let data = dir.path().join("data");
    let first = pki_with(PASS_TYPE_ID, TEAM_ID, |_| {});
    let soon = pki_with(PASS_TYPE_ID, TEAM_ID, |o| {
        o.signer_not_after = o.now + Duration::days(10)
    });
    let other_type = pki_with("pass.com.example.other", TEAM_ID, |_| {});
    let other_team = pki_with(PASS_TYPE_ID, "OTHERTEAM9", |_| {});
    let certs = tempfile::tempdir().unwrap();
    let p12 = write(
        certs.path(),
        "first.p12",
        &first.to_pkcs12("s3cret").unwrap(),
    );
    let wwdr = write(certs.path(), "first-wwdr.pem", &first.wwdr_pem().unwrap());
    let files = vec![("signer_p12", p12), ("wwdr_cert", wwdr)];
    let c = case(
        &data,
        &db,
        &files,
        &[("PASSWRIGHT__APPLE__SIGNER_P12_PASSWORD", "s3cret")],
        tempfile::tempdir().unwrap(),
    );
    {
        let settings = passwright::settings::Settings::load_from(None, &c.env).unwrap();
        let app = spawn_with(settings, tempfile::tempdir().unwrap()).await;
        app.sample_program().await;
    }
    let (ok, out) = cli_check(&c);
    assert!(ok, "{out}");
    assert!(
        out.contains(PASS_TYPE_ID) && out.contains("programs:     1"),
        "{out}"
    );

    let near = tempfile::tempdir().unwrap();
    let c = case(&data, &db, &pem_files(near.path(), &soon), &[], near);
    let (ok, out) = cli_check(&c);
    assert!(ok, "{out}");
    assert!(out.contains("warning") && out.contains("expires"), "{out}");

    for (pki, needle) in [
        (other_type, "pass.com.example.other"),
        (other_team, "OTHERTEAM9"),
    ] {
        let certs = tempfile::tempdir().unwrap();
        let c = case(&data, &db, &pem_files(certs.path(), &pki), &[], certs);
        let err = startup_error(&c).await;
        assert!(
            err.contains(needle) && err.contains("signer.pem") && err.contains("Test Beans"),
            "{err}"
        );
        let (ok, out) = cli_check(&c);
        assert!(!ok && out.contains(needle), "{out}");
    }
}
