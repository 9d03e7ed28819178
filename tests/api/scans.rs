//! Shared helpers of the counter tests (scans_*.rs): a program set up for the counter (rewards,
//! a location, a staff key, a member), the text a member's barcode carries, and a scan posted
//! as a till would.

use passwright::domain::ids::MemberId;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// A program with a 50-point single-use reward, a 30-point repeatable one, a location, a
/// staff key scoped to it and one member.
pub struct Counter {
    pub program: String,
    pub member: String,
    pub single: String,
    pub repeatable: String,
    pub location: String,
    pub staff: String,
}

pub async fn counter(app: &TestApp) -> Counter {
    let program = app.sample_program().await;
    let reward = |name: &str, cost: i64, repeatable: bool| json!({"name": name, "cost": cost, "repeatable": repeatable});
    let single = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            reward("Free mug", 50, false),
        )
        .await;
    assert_eq!(single.status, 201, "{:?}", single.body);
    let repeatable = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            reward("Free coffee", 30, true),
        )
        .await;
    let location = app
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            &app.admin,
            json!({"name": "Main Street", "address": "1 Main St"}),
        )
        .await;
    assert_eq!(location.status, 201, "{:?}", location.body);
    Counter {
        member: app.member(&program, "Ada").await,
        staff: app.create_key("staff", Some(&program)).await,
        single: single.body["id"].as_str().unwrap().to_string(),
        repeatable: repeatable.body["id"].as_str().unwrap().to_string(),
        location: location.body["id"].as_str().unwrap().to_string(),
        program,
    }
}

impl TestApp {
    /// The text the member's barcode carries.
    pub async fn card_code(&self, member: &str) -> String {
        let m = self
            .state
            .store
            .member(&MemberId::parse(member).unwrap())
            .await
            .unwrap();
        self.state.cards.card_token(&m)
    }

    pub async fn scan(&self, key: &str, idem: Option<&str>, body: Value) -> Reply {
        let headers: Vec<(&str, &str)> = idem.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        self.send(
            Method::POST,
            "/api/v1/scans",
            Some(key),
            Some(&body),
            &headers,
        )
        .await
    }
}
