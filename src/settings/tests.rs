//! Settings loading: layers, unknown keys, secrets, parsing.

use super::*;
use secrecy::ExposeSecret;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_apply_without_file_or_env() {
    let s = Settings::load_from(None, &[]).unwrap();
    assert_eq!(s.server.port, 8080);
    assert_eq!(s.data_dir, PathBuf::from("data"));
}

#[test]
fn file_then_env_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, "[server]\nport = 9000\nhost = \"0.0.0.0\"\n").unwrap();
    let s =
        Settings::load_from(Some(&path), &env(&[("PASSWRIGHT__SERVER__PORT", "9100")])).unwrap();
    assert_eq!(s.server.port, 9100);
    assert_eq!(s.server.host, "0.0.0.0");
}

#[test]
fn unknown_keys_are_reported_by_name() {
    let err = Settings::load_from(None, &env(&[("PASSWRIGHT__SERVER__PROT", "1")])).unwrap_err();
    assert!(err.to_string().contains("server.prot"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, "[databse]\nurl = \"x\"\n").unwrap();
    let err = Settings::load_from(Some(&path), &[]).unwrap_err();
    assert!(err.to_string().contains("databse"), "{err}");
}

#[test]
fn digit_only_secrets_stay_strings_and_are_not_printed() {
    let s = Settings::load_from(
        None,
        &env(&[
            ("PASSWRIGHT__APPLE__SIGNER_P12_PASSWORD", "123456"),
            ("PASSWRIGHT__DATABASE__URL", "postgres://u:hunter2@h/db"),
        ]),
    )
    .unwrap();
    assert_eq!(
        s.apple
            .signer_p12_password
            .as_ref()
            .unwrap()
            .expose_secret(),
        "123456"
    );
    let printed = format!("{s:?}");
    assert!(
        !printed.contains("123456") && !printed.contains("hunter2"),
        "{printed}"
    );
}

#[test]
fn public_base_url_defaults_to_a_reachable_address() {
    let s = Settings::load_from(None, &env(&[("PASSWRIGHT__SERVER__HOST", "0.0.0.0")])).unwrap();
    assert_eq!(s.public_base_url(8080), "http://127.0.0.1:8080");
    let s = Settings::load_from(
        None,
        &env(&[(
            "PASSWRIGHT__SERVER__PUBLIC_BASE_URL",
            "https://cards.example.com/",
        )]),
    )
    .unwrap();
    assert_eq!(s.public_base_url(8080), "https://cards.example.com");
}

#[test]
fn delivery_settings_from_the_environment() {
    let s = Settings::load_from(
        None,
        &env(&[
            ("PASSWRIGHT__APNS__ENABLED", "false"),
            ("PASSWRIGHT__APNS__URL", "https://127.0.0.1:8443/"),
            ("PASSWRIGHT__OUTBOX__WORKERS", "0"),
        ]),
    )
    .unwrap();
    assert!(!s.apns.enabled);
    assert_eq!(s.apns.base_url(), "https://127.0.0.1:8443");
    assert_eq!(s.outbox.workers, 0);
    assert_eq!(
        Settings::default().apns.base_url(),
        "https://api.push.apple.com"
    );
    let err =
        Settings::load_from(None, &env(&[("PASSWRIGHT__APNS__ENABLED", "maybe")])).unwrap_err();
    assert!(err.to_string().contains("maybe"), "{err}");
    let err =
        Settings::load_from(None, &env(&[("PASSWRIGHT__OUTBOX__LEASE_MS", "10")])).unwrap_err();
    assert!(err.to_string().contains("lease_ms"), "{err}");
}

#[test]
fn webhook_timeout_from_the_environment_and_capped_by_the_lease() {
    let s = Settings::default();
    assert_eq!(s.webhooks.timeout(s.outbox.lease_ms).as_millis(), 10_000);
    let s = Settings::load_from(
        None,
        &env(&[
            ("PASSWRIGHT__WEBHOOKS__TIMEOUT_MS", "15000"),
            ("PASSWRIGHT__OUTBOX__LEASE_MS", "20000"),
        ]),
    )
    .unwrap();
    assert_eq!(s.webhooks.timeout_ms, 15_000);
    assert_eq!(s.webhooks.timeout(s.outbox.lease_ms).as_millis(), 10_000);
    assert_eq!(s.webhooks.timeout(60_000).as_millis(), 15_000);
    let err =
        Settings::load_from(None, &env(&[("PASSWRIGHT__WEBHOOKS__TIMEOUT_MS", "0")])).unwrap_err();
    assert!(err.to_string().contains("webhooks.timeout_ms"), "{err}");
}

#[test]
fn bad_numbers_are_clear_errors() {
    let err =
        Settings::load_from(None, &env(&[("PASSWRIGHT__SERVER__PORT", "eighty")])).unwrap_err();
    assert!(err.to_string().contains("eighty"), "{err}");
}

#[test]
fn the_pool_keeps_connections_warm_within_its_size() {
    let s = Settings::load_from(None, &[]).unwrap();
    assert_eq!(
        (s.database.max_connections, s.database.min_connections),
        (16, 8)
    );
    let s = Settings::load_from(
        None,
        &env(&[
            ("PASSWRIGHT__DATABASE__MAX_CONNECTIONS", "4"),
            ("PASSWRIGHT__DATABASE__MIN_CONNECTIONS", "4"),
        ]),
    )
    .unwrap();
    assert_eq!(s.database.min_connections, 4);
    let err = Settings::load_from(
        None,
        &env(&[
            ("PASSWRIGHT__DATABASE__MAX_CONNECTIONS", "4"),
            ("PASSWRIGHT__DATABASE__MIN_CONNECTIONS", "5"),
        ]),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("database.min_connections at most"),
        "{err:#}"
    );
}
