//! Provider tokens for token-based APNs authentication: an ES256 JWT with header
//! `{alg, kid}` and claims `{iss: team id, iat}`, reused for a long time because APNs refuses
//! tokens older than an hour and answers `TooManyProviderTokenUpdates` when they change more
//! often than every 20 minutes (apple-webservice.md B.3).

use std::sync::{Arc, Mutex, PoisonError};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret as _, SecretSlice};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::error::ApnsError;
use crate::clock::SharedClock;
use crate::domain::apple_ids::TeamId;

/// A token this old is replaced before use: well inside APNs's 20-60 minute window.
pub(super) const RENEW_AFTER: Duration = Duration::minutes(40);
/// At most one replacement forced by a 403 per this long, so a misconfigured key cannot
/// turn into a stream of new tokens.
pub(super) const MIN_FORCED_INTERVAL: Duration = Duration::minutes(20);

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

struct Issued {
    jwt: Arc<str>,
    at: OffsetDateTime,
}

struct State {
    current: Issued,
    last_forced: Option<OffsetDateTime>,
}

pub(super) struct TokenSigner {
    key: EncodingKey,
    header: Header,
    team_id: TeamId,
    clock: SharedClock,
    state: Mutex<State>,
}

impl TokenSigner {
    /// Signs the first token at once, so a key that cannot sign is found at start-up.
    pub fn new(
        key_pem: &SecretSlice<u8>,
        key_id: &str,
        team_id: TeamId,
        clock: SharedClock,
    ) -> Result<TokenSigner, ApnsError> {
        if key_id.len() != 10 || !key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApnsError::InvalidKeyId);
        }
        let key =
            EncodingKey::from_ec_pem(key_pem.expose_secret()).map_err(ApnsError::InvalidKey)?;
        let mut header = Header::new(Algorithm::ES256);
        // Apple's documented header has only alg and kid.
        header.typ = None;
        header.kid = Some(key_id.to_owned());
        let now = clock.now();
        let jwt = sign(&key, &header, &team_id, now).map_err(ApnsError::InvalidKey)?;
        Ok(TokenSigner {
            key,
            header,
            team_id,
            clock,
            state: Mutex::new(State {
                current: Issued { jwt, at: now },
                last_forced: None,
            }),
        })
    }

    /// The token to send now, renewed first if it is [`RENEW_AFTER`] old.
    pub fn current(&self) -> Arc<str> {
        let now = self.clock.now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now - state.current.at >= RENEW_AFTER {
            self.renew(&mut state, now);
        }
        Arc::clone(&state.current.jwt)
    }

    /// After APNs refused `rejected` as expired or invalid: whether a retry with
    /// [`TokenSigner::current`] is worth it. True when another push already replaced the token,
    /// or when a forced replacement is allowed (none in the last [`MIN_FORCED_INTERVAL`]).
    pub fn renew_after_rejection(&self, rejected: &str) -> bool {
        let now = self.clock.now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if *state.current.jwt != *rejected {
            return true;
        }
        // ES256 signatures here are deterministic: a token issued in the same second would be
        // the very one APNs just refused.
        if now.unix_timestamp() <= state.current.at.unix_timestamp() {
            return false;
        }
        if state
            .last_forced
            .is_some_and(|t| now - t < MIN_FORCED_INTERVAL)
        {
            return false;
        }
        state.last_forced = Some(now);
        self.renew(&mut state, now)
    }

    fn renew(&self, state: &mut State, now: OffsetDateTime) -> bool {
        match sign(&self.key, &self.header, &self.team_id, now) {
            Ok(jwt) => {
                state.current = Issued { jwt, at: now };
                tracing::info!("new APNs provider token issued");
                true
            }
            Err(error) => {
                // Keep the old token: APNs will say what is wrong with it.
                tracing::error!(%error, "cannot sign an APNs provider token");
                false
            }
        }
    }
}

fn sign(
    key: &EncodingKey,
    header: &Header,
    team_id: &TeamId,
    now: OffsetDateTime,
) -> Result<Arc<str>, jsonwebtoken::errors::Error> {
    let claims = Claims {
        iss: team_id.as_str(),
        iat: now.unix_timestamp(),
    };
    Ok(jsonwebtoken::encode(header, &claims, key)?.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use jsonwebtoken::{DecodingKey, Validation};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::PKey;

    const KEY_ID: &str = "KEY1234567";

    fn p256() -> (SecretSlice<u8>, Vec<u8>) {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        (
            key.private_key_to_pem_pkcs8().unwrap().into(),
            key.public_key_to_pem().unwrap(),
        )
    }

    fn signer() -> (TokenSigner, ManualClock, Vec<u8>) {
        let clock = ManualClock::at(time::macros::datetime!(2026-03-01 12:00 UTC));
        let (private, public) = p256();
        let team = TeamId::parse("ABCDE12345").unwrap();
        let signer = TokenSigner::new(&private, KEY_ID, team, Arc::new(clock.clone())).unwrap();
        (signer, clock, public)
    }

    #[derive(serde::Deserialize)]
    struct Seen {
        iss: String,
        iat: i64,
    }

    #[test]
    fn token_has_apples_header_and_claims() {
        let (signer, clock, public) = signer();
        let jwt = signer.current();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Seen>(
            &*jwt,
            &DecodingKey::from_ec_pem(&public).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(data.header.alg, Algorithm::ES256);
        assert_eq!(data.header.kid.as_deref(), Some(KEY_ID));
        assert_eq!(data.header.typ, None);
        assert_eq!(data.claims.iss, "ABCDE12345");
        assert_eq!(data.claims.iat, clock.now().unix_timestamp());
    }

    #[test]
    fn token_is_reused_for_forty_minutes() {
        let (signer, clock, _) = signer();
        let first = signer.current();
        clock.advance(Duration::minutes(39));
        assert_eq!(signer.current(), first);
        clock.advance(Duration::minutes(2));
        let second = signer.current();
        assert_ne!(second, first);
        clock.advance(Duration::minutes(1));
        assert_eq!(signer.current(), second);
    }

    #[test]
    fn a_rejection_forces_one_new_token_per_twenty_minutes() {
        let (signer, clock, _) = signer();
        let first = signer.current();
        // Refused in the second it was made: a new one would be identical.
        assert!(!signer.renew_after_rejection(&first));
        clock.advance(Duration::minutes(5));
        assert!(signer.renew_after_rejection(&first));
        let second = signer.current();
        assert_ne!(second, first);
        // A push still holding the old token learns that a newer one exists.
        assert!(signer.renew_after_rejection(&first));
        assert_eq!(signer.current(), second);
        // The new one is refused too: no further token for a while.
        clock.advance(Duration::minutes(19));
        assert!(!signer.renew_after_rejection(&second));
        assert_eq!(signer.current(), second);
        clock.advance(Duration::minutes(1));
        assert!(signer.renew_after_rejection(&second));
        assert_ne!(signer.current(), second);
    }

    #[test]
    fn bad_keys_and_key_ids_are_refused() {
        let (private, _) = p256();
        let team = TeamId::parse("ABCDE12345").unwrap();
        let clock: SharedClock = Arc::new(ManualClock::at(OffsetDateTime::UNIX_EPOCH));
        let short = TokenSigner::new(&private, "KEY", team.clone(), clock.clone());
        assert!(matches!(short, Err(ApnsError::InvalidKeyId)));
        // A PEM frame around garbage (built up so that no key-looking text sits in the source).
        let label = "PRIVATE KEY";
        let junk: SecretSlice<u8> =
            format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n")
                .into_bytes()
                .into();
        let bad = TokenSigner::new(&junk, KEY_ID, team, clock);
        assert!(matches!(bad, Err(ApnsError::InvalidKey(_))));
    }
}
