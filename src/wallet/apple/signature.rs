//! The `signature` file: a detached PKCS#7 SignedData over `manifest.json` (apple-pkpass.md
//! section 7), assembled from parts encoded once per signer.
//!
//! The result is byte for byte what OpenSSL's `PKCS7_sign(DETACHED | BINARY)` writes (a test
//! compares them): SHA-256, the signer and WWDR certificates, and the signed attributes
//! contentType, signingTime, messageDigest and SMIMECapabilities, as in a real Apple-accepted
//! pass. We do not call `PKCS7_sign` per pass because it rebuilds the whole structure each time
//! (name copies, algorithm fetches, the capability list): measured at 40-70 us on top of a
//! ~260 us RSA-2048 signature, which alone broke the throughput budget of building a pass.
//! Here a signature costs two SHA-256 hashes, the RSA operation (with a signing context kept
//! per thread) and a few concatenations.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use openssl::error::ErrorStack;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::x509::X509Ref;
use time::OffsetDateTime;

/// OID 1.2.840.113549.1.7.2 signedData.
const OID_SIGNED_DATA: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02,
];
/// ContentInfo { OID 1.2.840.113549.1.7.1 data } with the content left out (detached).
const DATA_CONTENT_INFO: &[u8] = &[
    0x30, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
];
/// AlgorithmIdentifier { sha256, NULL }.
const ALG_SHA256: &[u8] = &[
    0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];
/// AlgorithmIdentifier { rsaEncryption, NULL }: PKCS#1 v1.5, as OpenSSL writes for RSA keys.
const ALG_RSA: &[u8] = &[
    0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
];
const VERSION_1: &[u8] = &[0x02, 0x01, 0x01];
/// Attribute { contentType, SET { data } }.
const ATTR_CONTENT_TYPE: &[u8] = &[
    0x30, 0x18, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03, 0x31, 0x0B, 0x06,
    0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
];
/// Attribute type signingTime (1.2.840.113549.1.9.5).
const OID_SIGNING_TIME: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05,
];
/// Attribute type messageDigest (1.2.840.113549.1.9.4).
const OID_MESSAGE_DIGEST: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04,
];
/// Attribute { smimeCapabilities, ... } exactly as OpenSSL 3 adds it by default (AES-256/192/128,
/// 3DES, RC2-128/64, DES, RC2-40). Wallet ignores it; we keep it so the structure matches
/// OpenSSL's and the real Apple-accepted pass we compared against.
const ATTR_SMIME_CAPABILITIES: &[u8] = &[
    0x30, 0x79, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x0F, 0x31, 0x6C, 0x30,
    0x6A, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A, 0x30, 0x0B,
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16, 0x30, 0x0B, 0x06, 0x09, 0x60,
    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02, 0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0x86,
    0xF7, 0x0D, 0x03, 0x07, 0x30, 0x0E, 0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x03, 0x02,
    0x02, 0x02, 0x00, 0x80, 0x30, 0x0D, 0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x03, 0x02,
    0x02, 0x01, 0x40, 0x30, 0x07, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x07, 0x30, 0x0D, 0x06, 0x08,
    0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x03, 0x02, 0x02, 0x01, 0x28,
];

/// The per-signer constant parts of the SignedData.
pub(crate) struct SignedDataTemplate {
    /// Signer then intermediate certificate DER (PKCS#7 encodes this field as an implicitly
    /// tagged SEQUENCE OF, so the order is kept, not sorted).
    certificates: Vec<u8>,
    /// IssuerAndSerialNumber identifying the signer certificate.
    issuer_and_serial: Vec<u8>,
    key: PKey<Private>,
    /// Names this key in the per-thread signing context cache.
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Signing contexts kept per thread. Setting one up (provider lookups, padding, digest) costs
/// about 2% of an RSA-2048 signature, and an `EVP_PKEY_CTX` cannot be shared between threads.
const CONTEXTS_PER_THREAD: usize = 4;

thread_local! {
    static CONTEXTS: RefCell<Vec<(u64, PkeyCtx<Private>)>> = const { RefCell::new(Vec::new()) };
}

impl SignedDataTemplate {
    /// `key` must be the RSA key of `signer` (Apple's Pass Type ID certificates are RSA; the
    /// caller checks both).
    pub(crate) fn new(
        signer: &X509Ref,
        key: &PKey<Private>,
        intermediate: &X509Ref,
    ) -> Result<Self, anyhow::Error> {
        let certs = [signer.to_der()?, intermediate.to_der()?];
        let serial = signer.serial_number().to_bn()?;
        anyhow::ensure!(
            !serial.is_negative(),
            "the signer certificate has a negative serial number"
        );
        let mut serial_bytes = serial.to_vec();
        if serial_bytes.first().is_none_or(|b| b & 0x80 != 0) {
            serial_bytes.insert(0, 0);
        }
        let issuer = signer.issuer_name().to_der()?;
        Ok(SignedDataTemplate {
            certificates: certs.concat(),
            issuer_and_serial: tlv(0x30, &[&issuer, &tlv(0x02, &[&serial_bytes])]),
            key: key.clone(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// DER `signature` for `content` (the exact manifest bytes), signed at `now`.
    pub(crate) fn sign(&self, content: &[u8], now: OffsetDateTime) -> Result<Vec<u8>, ErrorStack> {
        let digest = openssl::sha::sha256(content);
        let mut attributes = [
            ATTR_CONTENT_TYPE.to_vec(),
            tlv(0x30, &[OID_SIGNING_TIME, &tlv(0x31, &[&der_time(now)])]),
            tlv(
                0x30,
                &[OID_MESSAGE_DIGEST, &tlv(0x31, &[&tlv(0x04, &[&digest])])],
            ),
            ATTR_SMIME_CAPABILITIES.to_vec(),
        ];
        // A SET OF is encoded in sorted order; the signature covers that exact SET.
        attributes.sort();
        let attributes = attributes.concat();
        let signature = self.sign_sha256(&tlv(0x31, &[&attributes]))?;

        let signer_info = tlv(
            0x30,
            &[
                VERSION_1,
                &self.issuer_and_serial,
                ALG_SHA256,
                &tlv(0xA0, &[&attributes]),
                ALG_RSA,
                &tlv(0x04, &[&signature]),
            ],
        );
        let signed_data = tlv(
            0x30,
            &[
                VERSION_1,
                &tlv(0x31, &[ALG_SHA256]),
                DATA_CONTENT_INFO,
                &tlv(0xA0, &[&self.certificates]),
                &tlv(0x31, &[&signer_info]),
            ],
        );
        Ok(tlv(0x30, &[OID_SIGNED_DATA, &tlv(0xA0, &[&signed_data])]))
    }

    /// RSA PKCS#1 v1.5 signature over SHA-256 of `data`, with this thread's cached context.
    fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>, ErrorStack> {
        let digest = openssl::sha::sha256(data);
        CONTEXTS.with(|contexts| {
            let mut contexts = contexts.borrow_mut();
            let index = match contexts.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    let mut ctx = PkeyCtx::new(&self.key)?;
                    ctx.sign_init()?;
                    ctx.set_rsa_padding(Padding::PKCS1)?;
                    ctx.set_signature_md(Md::sha256())?;
                    if contexts.len() == CONTEXTS_PER_THREAD {
                        contexts.remove(0);
                    }
                    contexts.push((self.id, ctx));
                    contexts.len() - 1
                }
            };
            let mut signature = Vec::with_capacity(512);
            contexts[index].1.sign_to_vec(&digest, &mut signature)?;
            Ok(signature)
        })
    }
}

/// One DER element: tag, definite length, then the parts concatenated.
fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8); // fits: checked just above
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8); // at most 8 length bytes
        out.extend_from_slice(&bytes[skip..]);
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 section 11.3), as OpenSSL does.
fn der_time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (year, month, day) = (t.year(), u8::from(t.month()), t.day());
    let (h, m, s) = (t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&year) {
        let text = format!("{:02}{month:02}{day:02}{h:02}{m:02}{s:02}Z", year % 100);
        tlv(0x17, &[text.as_bytes()])
    } else {
        let text = format!("{year:04}{month:02}{day:02}{h:02}{m:02}{s:02}Z");
        tlv(0x18, &[text.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::apple::certs::devca::tests::shared_pki;
    use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
    use openssl::stack::Stack;

    #[test]
    fn matches_openssl_pkcs7_sign_byte_for_byte() {
        let pki = shared_pki();
        let template =
            SignedDataTemplate::new(&pki.signer_cert, &pki.signer_key, &pki.wwdr_cert).unwrap();
        let mut extra = Stack::new().unwrap();
        extra.push(pki.wwdr_cert.clone()).unwrap();
        let manifest = br#"{"pass.json":"0123456789abcdef0123456789abcdef01234567"}"#;
        // OpenSSL stamps its own clock into signingTime; retry until both land in the same second.
        for _ in 0..10 {
            let before = crate::clock::system_now();
            let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY;
            let reference = Pkcs7::sign(&pki.signer_cert, &pki.signer_key, &extra, manifest, flags)
                .unwrap()
                .to_der()
                .unwrap();
            let after = crate::clock::system_now();
            if before.unix_timestamp() != after.unix_timestamp() {
                continue;
            }
            let ours = template.sign(manifest, before).unwrap();
            assert_eq!(hex::encode(ours), hex::encode(reference));
            return;
        }
        panic!("could not get OpenSSL to sign within one second");
    }

    #[test]
    fn cached_contexts_never_sign_with_another_signers_key() {
        use openssl::x509::store::X509StoreBuilder;
        use openssl::x509::X509PurposeId;
        let pki = shared_pki();
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(pki.root_cert.clone()).unwrap();
        store.set_purpose(X509PurposeId::ANY).unwrap();
        let store = store.build();
        // More signers than contexts kept per thread, each with its own key, used in turns.
        let opts = crate::wallet::apple::certs::devca::tests::options();
        let signers: Vec<_> = (0..CONTEXTS_PER_THREAD + 2)
            .map(|_| {
                let issued = pki.reissue_signer(&opts).unwrap();
                SignedDataTemplate::new(&issued.signer_cert, &issued.signer_key, &pki.wwdr_cert)
                    .unwrap()
            })
            .collect();
        let now = crate::clock::system_now();
        for round in 0..2 {
            for (i, template) in signers.iter().enumerate() {
                let content = format!("round {round} signer {i}");
                let der = template.sign(content.as_bytes(), now).unwrap();
                let none = Stack::new().unwrap();
                let flags = Pkcs7Flags::BINARY;
                let verified = Pkcs7::from_der(&der).unwrap().verify(
                    &none,
                    &store,
                    Some(content.as_bytes()),
                    None,
                    flags,
                );
                assert!(verified.is_ok(), "round {round}, signer {i}: {verified:?}");
            }
        }
    }

    #[test]
    fn lengths_use_the_shortest_definite_form() {
        assert_eq!(tlv(0x04, &[&[1, 2]]), vec![0x04, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[&[0; 200]])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[&[0; 300]])[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn signing_time_switches_to_generalized_time_in_2050() {
        let t = time::macros::datetime!(2049-12-31 23:59:58 UTC);
        assert_eq!(der_time(t), [&[0x17, 13][..], b"491231235958Z"].concat());
        let t = time::macros::datetime!(2050-01-01 00:00:00 UTC);
        assert_eq!(der_time(t), [&[0x18, 15][..], b"20500101000000Z"].concat());
    }
}
