//! HTTPS without a reverse proxy: with `server.tls_cert_file` and `server.tls_key_file` the
//! service speaks TLS on its port (so a phone's camera works in the staff scanner on a shop's
//! LAN), its own links are https, and plain HTTP on that port gets nothing. A certificate
//! without its key, or with another key, stops start-up with a sentence naming the setting.

use passwright::clock::{OsRandom, SystemClock};
use passwright::startup::Application;
use std::sync::Arc;

use crate::fake_apns::{make_ca, make_server_cert};
use crate::helpers::*;

/// A certificate for 127.0.0.1 from a throwaway root, written as PEM files: (root, cert, key).
fn pem_files(
    dir: &std::path::Path,
) -> (reqwest::Certificate, std::path::PathBuf, std::path::PathBuf) {
    let (ca, ca_key) = make_ca().unwrap();
    let (cert, key) = make_server_cert(&ca, &ca_key).unwrap();
    let cert_file = dir.join("server.pem");
    let key_file = dir.join("server.key");
    std::fs::write(&cert_file, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&key_file, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let root = reqwest::Certificate::from_pem(&ca.to_pem().unwrap()).unwrap();
    (root, cert_file, key_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_speaks_https_with_its_own_certificate() {
    let data_dir = tempfile::tempdir().unwrap();
    let (root, cert, key) = pem_files(data_dir.path());
    let url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.path().join("db.sqlite").display()
    );
    let mut settings = settings_for(data_dir.path(), &url);
    settings.server.tls_cert_file = Some(cert);
    settings.server.tls_key_file = Some(key);
    let app = spawn_with(settings, data_dir).await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let https = format!("https://127.0.0.1:{port}");
    assert_eq!(
        app.state.cards.urls().base(),
        https,
        "its own links are https"
    );

    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    for path in ["/healthz", "/staff", "/console/sign-in"] {
        let r = client.get(format!("{https}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // Plain HTTP on the TLS port gets no page.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "{plain:?}"
    );
    // A client that does not trust the root is refused.
    assert!(reqwest::Client::new()
        .get(format!("{https}/healthz"))
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_certificate_setting_stops_start_up_in_words() {
    let data_dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = pem_files(data_dir.path());
    let url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.path().join("db.sqlite").display()
    );

    // The certificate without its key: refused when the settings are read.
    let mut env = child_env(data_dir.path());
    env.push(("PASSWRIGHT__DATABASE__URL", url.clone()));
    env.push((
        "PASSWRIGHT__SERVER__TLS_CERT_FILE",
        cert.display().to_string(),
    ));
    let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let e = passwright::settings::Settings::load_from(None, &env).unwrap_err();
    assert!(
        format!("{e:#}").contains("tls_cert_file and tls_key_file go together"),
        "{e:#}"
    );

    // Another certificate's key.
    let other = tempfile::tempdir().unwrap();
    let (_, _, other_key) = pem_files(other.path());
    let mut settings = settings_for(data_dir.path(), &url);
    settings.server.tls_cert_file = Some(cert.clone());
    settings.server.tls_key_file = Some(other_key);
    let e = Application::build_with(&settings, Arc::new(SystemClock), Arc::new(OsRandom))
        .await
        .err()
        .expect("start-up refused");
    assert!(
        format!("{e:#}").contains("is not the key of the certificate"),
        "{e:#}"
    );

    // A key file that is no key.
    settings.server.tls_key_file = Some(cert.clone());
    let e = Application::build_with(&settings, Arc::new(SystemClock), Arc::new(OsRandom))
        .await
        .err()
        .expect("start-up refused");
    assert!(format!("{e:#}").contains("server.tls_key_file"), "{e:#}");
    drop(key);
}
