use serde_json::Value;
use time::macros::datetime;
use time::Duration;

use super::google_callbacks::{message, TestCallbackKeys, SENDER_IDS};
use super::*;

const ISSUER: &str = "3388000000012345678";

fn now() -> OffsetDateTime {
    datetime!(2026-03-01 12:00 UTC)
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap()
}

fn verifier(keys: &TestCallbackKeys) -> CallbackVerifier {
    CallbackVerifier {
        roots: RootKeys::from_json(keys.keys_json().as_bytes(), now()).unwrap(),
        sender_ids: SENDER_IDS.iter().map(|s| (*s).to_owned()).collect(),
        recipient_id: ISSUER.to_owned(),
    }
}

fn saved() -> Value {
    message(
        &format!("{ISSUER}.gold"),
        &format!("{ISSUER}.m-1"),
        "save",
        "nonce-1",
        ms(now() + Duration::minutes(5)),
    )
}

fn envelope(keys: &TestCallbackKeys, message: &Value) -> String {
    keys.envelope(
        SENDER_IDS[1],
        ISSUER,
        message,
        ms(now() + Duration::days(7)),
    )
}

fn with(body: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(body).unwrap();
    edit(&mut value);
    value.to_string()
}

#[test]
fn a_valid_callback_is_accepted_under_either_sender_id() {
    let keys = TestCallbackKeys::generate();
    for sender in SENDER_IDS {
        let body = keys.envelope(sender, ISSUER, &saved(), ms(now() + Duration::days(7)));
        let m = verifier(&keys).verify(body.as_bytes(), now()).unwrap();
        assert_eq!(m.class_id, format!("{ISSUER}.gold"));
        assert_eq!(m.object_id, format!("{ISSUER}.m-1"));
        assert_eq!(m.event, CallbackEvent::Saved);
        assert_eq!(m.nonce, "nonce-1");
        assert_eq!(m.expires_at, now() + Duration::minutes(5));
    }
}

#[test]
fn the_sender_id_is_signed() {
    let keys = TestCallbackKeys::generate();
    let only_pay = CallbackVerifier {
        sender_ids: vec![SENDER_IDS[0].to_owned()],
        ..verifier(&keys)
    };
    let body = keys.envelope(
        SENDER_IDS[1],
        ISSUER,
        &saved(),
        ms(now() + Duration::days(7)),
    );
    let err = only_pay.verify(body.as_bytes(), now()).unwrap_err();
    assert!(
        matches!(err, CallbackError::BadIntermediateSignature),
        "{err}"
    );
}

#[test]
fn a_delete_with_string_millis_is_read() {
    let keys = TestCallbackKeys::generate();
    let mut m = message("c", "o", "del", "n", 0);
    m["expTimeMillis"] = Value::from(ms(now() + Duration::seconds(1)).to_string());
    let got = verifier(&keys)
        .verify(envelope(&keys, &m).as_bytes(), now())
        .unwrap();
    assert_eq!(got.event, CallbackEvent::Deleted);
}

#[test]
fn a_tampered_signed_message_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let body = with(&envelope(&keys, &saved()), |v| {
        let tampered = v["signedMessage"].as_str().unwrap().replace("save", "del");
        v["signedMessage"] = Value::from(tampered);
    });
    let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
    assert!(matches!(err, CallbackError::BadSignature), "{err}");
}

#[test]
fn a_message_signed_by_another_key_than_the_intermediate_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let other = TestCallbackKeys::generate();
    let forged = envelope(&other, &saved());
    let forged: Value = serde_json::from_str(&forged).unwrap();
    // Google's signed intermediate key, with a signature made by some other key.
    let body = with(&envelope(&keys, &saved()), |v| {
        v["signature"] = forged["signature"].clone();
    });
    let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
    assert!(matches!(err, CallbackError::BadSignature), "{err}");
}

#[test]
fn an_intermediate_key_not_signed_by_a_root_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let stranger = TestCallbackKeys::generate();
    let body = envelope(&stranger, &saved());
    let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
    assert!(
        matches!(err, CallbackError::BadIntermediateSignature),
        "{err}"
    );

    // Swapping our own key into a genuinely signed envelope breaks the root signature.
    let swapped = with(&envelope(&keys, &saved()), |v| {
        let theirs: Value = serde_json::from_str(&body).unwrap();
        v["intermediateSigningKey"]["signedKey"] =
            theirs["intermediateSigningKey"]["signedKey"].clone();
        v["signature"] = theirs["signature"].clone();
    });
    let err = verifier(&keys)
        .verify(swapped.as_bytes(), now())
        .unwrap_err();
    assert!(
        matches!(err, CallbackError::BadIntermediateSignature),
        "{err}"
    );
}

#[test]
fn an_expired_intermediate_key_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let body = keys.envelope(SENDER_IDS[0], ISSUER, &saved(), ms(now()));
    let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
    assert!(
        matches!(err, CallbackError::IntermediateKeyExpired(t) if t == now()),
        "{err}"
    );
}

#[test]
fn an_expired_message_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let m = message("c", "o", "save", "n", ms(now() - Duration::seconds(1)));
    let err = verifier(&keys)
        .verify(envelope(&keys, &m).as_bytes(), now())
        .unwrap_err();
    assert!(matches!(err, CallbackError::MessageExpired(_)), "{err}");
}

#[test]
fn a_callback_for_another_issuer_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let body = keys.envelope(
        SENDER_IDS[0],
        "999",
        &saved(),
        ms(now() + Duration::days(7)),
    );
    let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
    assert!(matches!(err, CallbackError::BadSignature), "{err}");
}

#[test]
fn another_protocol_version_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let body = with(&envelope(&keys, &saved()), |v| {
        v["protocolVersion"] = Value::from("ECv2");
    });
    let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
    assert!(
        matches!(err, CallbackError::WrongProtocol(ref p) if p == "ECv2"),
        "{err}"
    );
}

#[test]
fn an_unknown_event_type_is_rejected() {
    let keys = TestCallbackKeys::generate();
    let m = message("c", "o", "update", "n", ms(now() + Duration::minutes(1)));
    let err = verifier(&keys)
        .verify(envelope(&keys, &m).as_bytes(), now())
        .unwrap_err();
    assert!(
        matches!(err, CallbackError::UnknownEventType(ref e) if e == "update"),
        "{err}"
    );
}

#[test]
fn malformed_bodies_are_rejected() {
    let keys = TestCallbackKeys::generate();
    let good = envelope(&keys, &saved());
    let bodies = [
        "not json".to_owned(),
        "{}".to_owned(),
        with(&good, |v| v["signature"] = Value::from("***")),
        with(&good, |v| {
            v["intermediateSigningKey"]["signatures"] = Value::from("x")
        }),
        with(&good, |v| {
            v.as_object_mut().unwrap().remove("signedMessage");
        }),
    ];
    for body in bodies {
        let err = verifier(&keys).verify(body.as_bytes(), now()).unwrap_err();
        assert!(matches!(err, CallbackError::Malformed(_)), "{body}: {err}");
    }
}

#[test]
fn root_keys_skip_other_protocols_and_expired_keys() {
    let keys = TestCallbackKeys::generate();
    let json: Value = serde_json::from_str(&keys.keys_json()).unwrap();
    let key_value = json["keys"][0]["keyValue"].clone();
    let entry = |protocol: &str, expiration: Value| serde_json::json!({"keyValue": key_value, "protocolVersion": protocol, "keyExpiration": expiration});
    let mixed = serde_json::json!({"keys": [
        entry("ECv1", Value::Null),
        entry("ECv2SigningOnly", Value::from(ms(now()).to_string())),
        {"keyValue": "not even base64 !", "protocolVersion": "ECv2"},
        entry("ECv2SigningOnly", Value::from(ms(now() + Duration::days(1)))),
        {"keyValue": key_value, "protocolVersion": "ECv2SigningOnly"},
    ]});
    let roots = RootKeys::from_json(mixed.to_string().as_bytes(), now()).unwrap();
    assert_eq!(roots.len(), 2);

    let expired = serde_json::json!({"keys": [entry("ECv2SigningOnly", Value::from(0))]});
    let err = RootKeys::from_json(expired.to_string().as_bytes(), now()).unwrap_err();
    assert!(matches!(err, RootKeysError::NoUsableKey), "{err}");
    let bad =
        serde_json::json!({"keys": [{"keyValue": "AAAA", "protocolVersion": "ECv2SigningOnly"}]});
    let err = RootKeys::from_json(bad.to_string().as_bytes(), now()).unwrap_err();
    assert!(matches!(err, RootKeysError::Malformed(_)), "{err}");
}
