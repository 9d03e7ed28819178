//! Golden tests: the exact bytes of a `.pkpass` for fixed inputs (program, member, web service
//! address, barcode token, the default images, the FAKE test PKI under
//! `tests/fixtures/fake-pki/` and a fixed signing time), as SHA-256 hashes captured from the
//! code when they were written. A change that alters what a device receives fails here; if the
//! change is meant, say so in its commit and update the hash.
//!
//! The whole `.pkpass` is byte-deterministic for fixed inputs, so the zip is pinned as well as
//! its parts: zip entries carry a fixed timestamp (see `entry_options`), the assets keep their
//! order, `signingTime` is the time passed in, and an RSA PKCS#1 v1.5 signature has no random
//! part. Deflated entries (`pass.strings`) depend on the deflate implementation too, so a
//! `flate2`/`miniz_oxide` upgrade could change the zip's hash and `pass.strings` entries'
//! compressed bytes without changing any file in it; the per-file hashes say which it was.

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509PurposeId, X509};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::wallet::apple::certs::PassSigner;
use crate::wallet::apple::images::default_images;
use crate::wallet::apple::package::{build_pkpass, PassAssets};
use crate::wallet::apple::pass_json::{localizations, render, PassContext};
use crate::wallet::golden;

const FAKE_ROOT: &[u8] = include_bytes!("../../../../tests/fixtures/fake-pki/fake-root-ca.pem");
const FAKE_WWDR: &[u8] = include_bytes!("../../../../tests/fixtures/fake-pki/fake-wwdr-ca.pem");
const FAKE_SIGNER: &[u8] = include_bytes!("../../../../tests/fixtures/fake-pki/fake-signer.pem");
const FAKE_KEY: &[u8] = include_bytes!("../../../../tests/fixtures/fake-pki/fake-signer.key");

/// 2026-01-01 00:00:00 UTC, inside the fake certificates' validity (2025-2049).
const SIGNED_AT: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

const CONTEXT: PassContext<'static> = PassContext {
    web_service_url: "https://cards.example.com/wallet",
    barcode_message: "PW1.goldenserial23456723.1.FixedGoldenToken0001",
};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(bytes))
}

fn signer() -> PassSigner {
    PassSigner::from_pem(FAKE_SIGNER, FAKE_KEY, FAKE_WWDR, SIGNED_AT).unwrap()
}

/// The program's files as `Cards::assets` lays them out: the images by name, then the
/// translations.
fn assets(program: &Program) -> PassAssets {
    let mut files = default_images();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.extend(localizations(program));
    PassAssets::new(files).unwrap()
}

/// Every file of a .pkpass by name, in zip order.
fn unzip(pkpass: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(pkpass)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_owned(), bytes)
        })
        .collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files.iter().find(|(n, _)| n == name).unwrap().1
}

/// What a golden pass is checked against. The manifest holds the SHA-1 of every other file
/// (images, pass.strings, pass.json), so its hash pins their bytes too.
struct Golden {
    pass_json: &'static str,
    manifest: &'static str,
    signature: &'static str,
    pkpass: &'static str,
}

fn check(program: &Program, member: &Member, golden: &Golden) {
    let pass_json = render(program, member, &CONTEXT);
    let signer = signer();
    let assets = assets(program);
    let pkpass = build_pkpass(&pass_json, &assets, &signer, SIGNED_AT).unwrap();
    let again = build_pkpass(&pass_json, &assets, &signer, SIGNED_AT).unwrap();
    assert_eq!(pkpass, again, "the same inputs must give the same bytes");

    let files = unzip(&pkpass);
    assert_eq!(file(&files, "pass.json"), pass_json.as_slice());
    let (manifest, signature) = (file(&files, "manifest.json"), file(&files, "signature"));
    verify(signature, manifest);

    let pass_text = String::from_utf8_lossy(&pass_json);
    assert_eq!(
        sha256(&pass_json),
        golden.pass_json,
        "pass.json: {pass_text}"
    );
    assert_eq!(
        sha256(manifest),
        golden.manifest,
        "manifest.json: {}",
        String::from_utf8_lossy(manifest)
    );
    assert_eq!(sha256(signature), golden.signature, "signature");
    assert_eq!(sha256(&pkpass), golden.pkpass, ".pkpass");
}

/// The signature is a valid one from the fake signer over these manifest bytes, so the hashes
/// above pin a signature that works, not just some bytes.
fn verify(signature: &[u8], manifest: &[u8]) {
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(X509::from_pem(FAKE_ROOT).unwrap()).unwrap();
    store.set_purpose(X509PurposeId::ANY).unwrap();
    // The OpenSSL library checks the chain against the real clock; the fake PKI is valid
    // until 2049.
    let store = store.build();
    Pkcs7::from_der(signature)
        .unwrap()
        .verify(
            &Stack::new().unwrap(),
            &store,
            Some(manifest),
            None,
            Pkcs7Flags::BINARY,
        )
        .unwrap();
}

#[test]
fn sample_member_pass_bytes_are_unchanged() {
    let program = golden::program();
    check(
        &program,
        &golden::member(&program),
        &Golden {
            pass_json: "e7219de964a1fbe3220aaf9d0069a366781e70cbeba96bb6a6fd7a1b1c2f5858",
            manifest: "9a693b6aa88bb2f80580e3b0a22bfc9ecae73213f63ed632188cf17bbfa56123",
            signature: "e1fb6def44b597f17ce93e27a80edf0d607a20ee4d6cc1d0fbdd6ddd57df861a",
            pkpass: "ff54bf48b8cd9cf1749648946d329e5f0fda99f2f7b5d1a82781db6c1c265734",
        },
    );
}

#[test]
fn rich_member_pass_bytes_are_unchanged() {
    let program = golden::rich_program();
    check(
        &program,
        &golden::rich_member(&program),
        &Golden {
            pass_json: "c7fe2e9dc98dc786089bff0ca5a3bbde862158817a3626efdc9983e6858ad00a",
            manifest: "dfbb525e84362450f50f34c5f59ba62ea2b719da4298968314507a1a8af9dfae",
            signature: "ca0d5c0b9927cab30dfd143e726210fd581b7b9acfa9db47ed21c8391682af79",
            pkpass: "5ba8ab3adb9a40093da3bdd430377620b5455fbd19e2d5aaa21d2eaad45a0709",
        },
    );
}
