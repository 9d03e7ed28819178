//! Turning `pass.json` plus a program's images and translations into a signed `.pkpass`:
//! `manifest.json` (SHA-1 of every file), a detached PKCS#7 `signature` over it, and a zip with
//! every file at the root.
//!
//! This runs for every pass download and must cost little more than its RSA signature. So the
//! per-design work happens once in [`PassAssets::new`]: hashing the assets, escaping their names
//! for the manifest, compressing text and laying them out as zip entries. Per pass we hash
//! `pass.json`, sign, and append three small entries.

use std::io::{Cursor, Write as _};

use sha1::{Digest as _, Sha1};
use time::OffsetDateTime;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::certs::PassSigner;

/// `Content-Type` for a single pass.
pub const PKPASS_CONTENT_TYPE: &str = "application/vnd.apple.pkpass";

/// Names Wallet reserves at the bundle root; an asset may not take them.
const RESERVED: [&str; 3] = ["pass.json", "manifest.json", "signature"];

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("invalid pass asset name {name:?}: {reason}")]
    InvalidAssetName { name: String, reason: &'static str },
    #[error("pass asset {name:?} appears twice")]
    DuplicateAsset { name: String },
    #[error("signing manifest.json failed")]
    Sign(#[source] openssl::error::ErrorStack),
    #[error("writing the .pkpass zip failed")]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The files every pass of one program design shares (images, `xx.lproj/pass.strings`),
/// hashed and laid out as zip entries once.
pub struct PassAssets {
    names: Vec<String>,
    /// `,"name":"sha1hex"` for every asset, spliced into each manifest as-is.
    manifest_tail: Vec<u8>,
    /// A complete zip of the assets alone; every `.pkpass` is this plus its own three files.
    template: Vec<u8>,
}

impl std::fmt::Debug for PassAssets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassAssets")
            .field("files", &self.names)
            .finish()
    }
}

impl PassAssets {
    /// `files` are (path inside the bundle, bytes), e.g. `("icon@2x.png", ..)`,
    /// `("de.lproj/pass.strings", ..)`.
    pub fn new(files: Vec<(String, Vec<u8>)>) -> Result<PassAssets, PackageError> {
        let mut names: Vec<String> = Vec::with_capacity(files.len());
        let mut manifest_tail = Vec::new();
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            if let Err(reason) = check_asset_name(&name) {
                return Err(PackageError::InvalidAssetName { name, reason });
            }
            if names.contains(&name) {
                return Err(PackageError::DuplicateAsset { name });
            }
            manifest_tail.push(b',');
            serde_json::to_writer(&mut manifest_tail, &name).map_err(anyhow::Error::from)?;
            manifest_tail.extend_from_slice(b":\"");
            manifest_tail.extend_from_slice(sha1_hex(&bytes).as_bytes());
            manifest_tail.push(b'"');
            // PNGs are compressed already; text (pass.strings) shrinks well.
            let method = if name.ends_with(".png") {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            };
            zip.start_file(name.as_str(), entry_options(method))?;
            zip.write_all(&bytes).map_err(zip::result::ZipError::Io)?;
            names.push(name);
        }
        Ok(PassAssets {
            names,
            manifest_tail,
            template: zip.finish()?.into_inner(),
        })
    }

    pub fn file_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

/// Paths must stay inside the bundle and use `/`, because they are both zip entry names and
/// manifest keys.
fn check_asset_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if RESERVED.contains(&name) {
        return Err("reserved for the pass itself");
    }
    if name.starts_with('/') || name.contains('\\') {
        return Err("must be a relative path using '/'");
    }
    if name
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("empty, '.' or '..' path component");
    }
    if name.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    Ok(())
}

/// Builds the signed `.pkpass` bytes, signed at `now` (the caller's clock). CPU-bound (one
/// RSA signature): call it on the blocking pool.
///
/// `pass.json`, `manifest.json` and `signature` are stored, not deflated: compressing ~2 KB of
/// JSON per pass saves about a kilobyte of a download dominated by images, while setting up a
/// deflate stream costs more than 10% of the signature's time (measured), on every download.
pub fn build_pkpass(
    pass_json: &[u8],
    assets: &PassAssets,
    signer: &PassSigner,
    now: OffsetDateTime,
) -> Result<Vec<u8>, PackageError> {
    let manifest = manifest(pass_json, assets);
    let signature = signer
        .sign_manifest(&manifest, now)
        .map_err(PackageError::Sign)?;

    // Three entries: their data, and under 100 bytes of headers and directory record each.
    // The assets' entries are copied as they are; the zip crate reads back their directory and
    // appends ours. Three entries: their data, and under 100 bytes of headers each.
    let room = pass_json.len() + manifest.len() + signature.len() + 3 * 100;
    let mut buf = Vec::with_capacity(assets.template.len() + room);
    buf.extend_from_slice(&assets.template);
    let mut zip = ZipWriter::new_append(Cursor::new(buf))?;
    for (name, data) in [
        ("pass.json", pass_json),
        ("manifest.json", manifest.as_slice()),
        ("signature", signature.as_slice()),
    ] {
        zip.start_file(name, entry_options(CompressionMethod::Stored))?;
        zip.write_all(data).map_err(zip::result::ZipError::Io)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Entry options: a fixed timestamp (1980-01-01, the earliest zip time) so identical inputs
/// give identical bytes; Wallet ignores it.
fn entry_options(method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
}

/// Compact `{"pass.json":"<sha1>","icon.png":"<sha1>",...}`; the signature covers exactly these
/// bytes.
fn manifest(pass_json: &[u8], assets: &PassAssets) -> Vec<u8> {
    const HEAD: &[u8] = b"{\"pass.json\":\"";
    let mut manifest = Vec::with_capacity(HEAD.len() + 41 + assets.manifest_tail.len() + 1);
    manifest.extend_from_slice(HEAD);
    manifest.extend_from_slice(sha1_hex(pass_json).as_bytes());
    manifest.push(b'"');
    manifest.extend_from_slice(&assets.manifest_tail);
    manifest.push(b'}');
    manifest
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

#[cfg(test)]
mod golden_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::apple::certs::devca::tests::{now, shared_pki, PASS_TYPE_ID, TEAM_ID};
    use crate::wallet::apple::images::default_images;
    use crate::wallet::apple::strings::encode_pass_strings;
    use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509PurposeId;
    use std::collections::BTreeMap;
    use std::io::{Cursor, Read as _};
    use std::process::Command;
    use zip::CompressionMethod;

    fn pass_json() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "formatVersion": 1,
            "passTypeIdentifier": PASS_TYPE_ID,
            "teamIdentifier": TEAM_ID,
            "serialNumber": "CARD-0001",
            "organizationName": "Example Org",
            "description": "Example loyalty card",
            "storeCard": {"primaryFields": [{"key": "points", "label": "POINTS", "value": 120}]}
        }))
        .unwrap()
    }

    fn assets() -> PassAssets {
        let mut files = default_images();
        let strings = encode_pass_strings(&[("POINTS".into(), "Punkte".into())]);
        files.push(("de.lproj/pass.strings".into(), strings));
        PassAssets::new(files).unwrap()
    }

    /// Every file of a .pkpass (the zip crate checks each CRC), by name, with its compression.
    fn unzip(pkpass: &[u8]) -> BTreeMap<String, (Vec<u8>, CompressionMethod)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(pkpass)).unwrap();
        let mut files = BTreeMap::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            assert!(entry.is_file(), "no directory entries: {}", entry.name());
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            files.insert(entry.name().to_owned(), (bytes, entry.compression()));
        }
        files
    }

    fn verify_in_rust(signature: &[u8], manifest: &[u8]) -> Result<(), openssl::error::ErrorStack> {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(shared_pki().root_cert.clone()).unwrap();
        // Pass Type ID certificates carry clientAuth, not emailProtection (spec section 7.4).
        store.set_purpose(X509PurposeId::ANY).unwrap();
        let store = store.build();
        let pkcs7 = Pkcs7::from_der(signature).unwrap();
        let no_extra_certs = Stack::new().unwrap();
        pkcs7.verify(
            &no_extra_certs,
            &store,
            Some(manifest),
            None,
            Pkcs7Flags::BINARY,
        )
    }

    fn openssl_cli(dir: &std::path::Path, args: &str) -> std::process::Output {
        Command::new("openssl")
            .args(args.split(' '))
            .current_dir(dir)
            .output()
            .expect("the openssl CLI is installed")
    }

    #[test]
    fn pkpass_holds_exactly_the_pass_its_assets_and_a_matching_manifest() {
        let signer = shared_pki().signer(now()).unwrap();
        let assets = assets();
        let files = unzip(&build_pkpass(&pass_json(), &assets, &signer, now()).unwrap());

        let mut expected: Vec<&str> = vec!["pass.json", "manifest.json", "signature"];
        expected.extend(assets.file_names());
        expected.sort_unstable();
        assert_eq!(
            files.keys().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(files["pass.json"].0, pass_json());
        assert_eq!(files["icon@2x.png"].1, CompressionMethod::Stored);
        assert_eq!(
            files["de.lproj/pass.strings"].1,
            CompressionMethod::Deflated
        );

        let manifest: BTreeMap<String, String> =
            serde_json::from_slice(&files["manifest.json"].0).unwrap();
        let listed: Vec<&str> = manifest.keys().map(String::as_str).collect();
        let others: Vec<&str> = files
            .keys()
            .map(String::as_str)
            .filter(|n| *n != "manifest.json" && *n != "signature")
            .collect();
        assert_eq!(listed, others);
        for (name, hash) in &manifest {
            assert_eq!(*hash, hex::encode(Sha1::digest(&files[name].0)), "{name}");
        }
    }

    #[test]
    fn signature_verifies_in_rust_and_with_the_openssl_cli() {
        let pki = shared_pki();
        let signer = pki.signer(now()).unwrap();
        let files = unzip(&build_pkpass(&pass_json(), &assets(), &signer, now()).unwrap());
        let (manifest, signature) = (&files["manifest.json"].0, &files["signature"].0);
        verify_in_rust(signature, manifest).unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.json"), manifest).unwrap();
        std::fs::write(dir.path().join("signature"), signature).unwrap();
        std::fs::write(dir.path().join("root.pem"), pki.root_pem().unwrap()).unwrap();
        let verify = "cms -verify -binary -inform DER -in signature -content manifest.json \
                      -CAfile root.pem -purpose any -out /dev/null";
        let out = openssl_cli(dir.path(), verify);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = openssl_cli(
            dir.path(),
            "cms -cmsout -inform DER -in signature -print -noout",
        );
        assert!(out.status.success());
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(printed.contains("signingTime"), "{printed}");
        assert!(
            printed.contains("eContent: <ABSENT>"),
            "detached: {printed}"
        );
        assert!(
            printed.contains("WWDR CA"),
            "intermediate embedded: {printed}"
        );

        // One changed byte in the manifest must break both verifiers.
        let tampered = String::from_utf8(manifest.clone()).unwrap().replacen(
            "\"pass.json\":\"",
            "\"pass.json\":\"0",
            1,
        );
        assert!(verify_in_rust(signature, tampered.as_bytes()).is_err());
        std::fs::write(dir.path().join("manifest.json"), tampered).unwrap();
        assert!(!openssl_cli(dir.path(), verify).status.success());
    }

    #[test]
    fn same_inputs_and_time_give_the_same_bytes() {
        let signer = shared_pki().signer(now()).unwrap();
        let assets = assets();
        let first = build_pkpass(&pass_json(), &assets, &signer, now()).unwrap();
        let second = build_pkpass(&pass_json(), &assets, &signer, now()).unwrap();
        assert_eq!(first, second);
        let other = build_pkpass(b"{}", &assets, &signer, now()).unwrap();
        assert_ne!(first, other);
    }

    #[test]
    fn asset_names_must_stay_inside_the_bundle() {
        let bad_names = [
            "",
            "pass.json",
            "signature",
            "/etc/passwd",
            "../icon.png",
            "de.lproj//x",
            "a\\b.png",
            "x/./y",
        ];
        for bad in bad_names {
            let err = PassAssets::new(vec![(bad.into(), vec![1])]).unwrap_err();
            assert!(
                matches!(err, PackageError::InvalidAssetName { .. }),
                "{bad:?}: {err}"
            );
        }
        let dup = vec![("icon.png".into(), vec![1]), ("icon.png".into(), vec![2])];
        assert!(matches!(
            PassAssets::new(dup),
            Err(PackageError::DuplicateAsset { .. })
        ));
    }

    #[test]
    fn manifest_escapes_names_and_is_valid_json() {
        let name = "zh-Hans.lproj/\"odd\".strings";
        let assets = PassAssets::new(vec![(name.into(), b"x".to_vec())]).unwrap();
        let manifest = manifest(b"{}", &assets);
        let parsed: BTreeMap<String, String> = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(parsed["pass.json"], hex::encode(Sha1::digest(b"{}")));
        assert_eq!(parsed[name], hex::encode(Sha1::digest(b"x")));
    }

    /// Throughput against bare RSA-2048 signatures made the way `openssl speed rsa2048` makes
    /// them (one reused key context, EVP_PKEY_sign). Single calls of both are interleaved and
    /// median times compared, so noise from other processes hits both alike. Run with:
    /// `cargo test --release --lib wallet::apple::package::tests::throughput -- --ignored --nocapture`
    #[test]
    #[ignore = "benchmark; run in release mode"]
    fn throughput() {
        use openssl::pkey_ctx::PkeyCtx;
        use std::time::{Duration, Instant};
        let signer = shared_pki().signer(now()).unwrap();
        let (assets, pass) = (assets(), pass_json());
        let mut ctx = PkeyCtx::new(signer.private_key()).unwrap();
        ctx.sign_init().unwrap();
        let digest = [7u8; 36];
        let mut out = Vec::new();
        let (mut raw_times, mut build_times) = (Vec::new(), Vec::new());
        for round in 0..4200 {
            let start = Instant::now();
            out.clear();
            ctx.sign_to_vec(&digest, &mut out).unwrap();
            let middle = Instant::now();
            std::hint::black_box(build_pkpass(&pass, &assets, &signer, now()).unwrap());
            if round >= 200 {
                raw_times.push(middle - start);
                build_times.push(middle.elapsed());
            }
        }
        let median = |times: &mut Vec<Duration>| {
            times.sort_unstable();
            times[times.len() / 2]
        };
        let (raw, build) = (median(&mut raw_times), median(&mut build_times));
        println!(
            "median RSA-2048 sign {raw:?} ({:.0}/s), median pkpass build {build:?} ({:.0}/s), \
             ratio {:.3}",
            1.0 / raw.as_secs_f64(),
            1.0 / build.as_secs_f64(),
            raw.as_secs_f64() / build.as_secs_f64()
        );
    }
}
