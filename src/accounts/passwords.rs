//! Password hashes: argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane),
//! stored in the PHC string format, so parameters raised later still verify old hashes.
//! Hashing costs tens of milliseconds of CPU on purpose: it runs on the blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::clock::Random;
use crate::domain::user::NewPassword;

fn argon2() -> Argon2<'static> {
    // 19 MiB, t=2, p=1: argon2's defaults, OWASP's recommended minimum for argon2id.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The PHC string of `password` under a fresh salt.
pub async fn hash(password: &NewPassword, rng: &dyn Random) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt);
    let password = password.expose().to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
    })
    .await?
}

/// Whether `presented` is the password of `phc`. With no hash (an unknown account, or one
/// whose invitation was not accepted) a dummy hash is checked, so the answer takes as long.
pub async fn verify(phc: Option<String>, presented: &str) -> bool {
    let presented = presented.to_string();
    tokio::task::spawn_blocking(move || {
        let dummy;
        let phc = match &phc {
            Some(p) => p.as_str(),
            None => {
                dummy = dummy_hash();
                dummy.as_str()
            }
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let ok = argon2()
            .verify_password(presented.as_bytes(), &parsed)
            .is_ok();
        ok && phc_is_real(phc)
    })
    .await
    .unwrap_or(false)
}

/// The hash checked when there is none: of a password nobody can type (a NUL byte).
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::encode_b64(b"passwright-dummy").unwrap_or_else(|_| {
                // 16 bytes always encode.
                unreachable!()
            });
            argon2()
                .hash_password(b"\0", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

fn phc_is_real(phc: &str) -> bool {
    phc != dummy_hash()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[tokio::test]
    async fn hashes_verify_their_password_only() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        let h = hash(&p, &OsRandom).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(Some(h.clone()), "correct horse battery").await);
        assert!(!verify(Some(h.clone()), "correct horse batterY").await);
        assert!(!verify(None, "\0").await, "the dummy hash lets nobody in");
        assert!(!verify(Some("not a hash".into()), "x").await);
        let again = hash(&p, &OsRandom).await.unwrap();
        assert_ne!(h, again, "each hash has its own salt");
    }
}
