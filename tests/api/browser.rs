//! Shared helpers of the staff-scanner and dashboard tests in headless Chromium (browser_*.rs):
//! a program at the counter with a member whose barcode is read from their pass, the member's
//! ledger, balance and scan records from the API, and the scanner page signed in and read.

use serde_json::{json, Value};

use crate::chromium::Browser;
use crate::helpers::*;

/// A program at the counter: rewards, a location, a staff key and a member with 120 points.
pub struct Counter {
    pub program: String,
    pub location: String,
    pub staff: String,
    pub staff_id: String,
    pub member: String,
    /// The text of the member's card barcode, read from their downloaded pass.
    pub code: String,
    pub coffee: String,
    pub cake: String,
    pub tote: String,
}

async fn reward(app: &TestApp, program: &str, name: &str, cost: i64) -> String {
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/rewards"),
            &app.admin,
            json!({"name": name, "cost": cost}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

pub async fn location(app: &TestApp, program: &str, name: &str) -> String {
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            &app.admin,
            json!({"name": name, "address": "1 High Street"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// A staff key limited to `program`: (secret, id).
pub async fn staff_key(app: &TestApp, program: &str, name: &str) -> (String, String) {
    let r = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": name, "role": "staff", "program_id": program}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (
        r.body["secret"].as_str().unwrap().to_string(),
        r.body["id"].as_str().unwrap().to_string(),
    )
}

pub async fn counter(app: &TestApp) -> Counter {
    let program = app.sample_program().await;
    let coffee = reward(app, &program, "Free coffee", 50).await;
    let cake = reward(app, &program, "Slice of cake", 60).await;
    let tote = reward(app, &program, "Tote bag", 500).await;
    let location = location(app, &program, "Counter 1").await;
    let (staff, staff_id) = staff_key(app, &program, "Till 1 – Anna").await;
    let r = app
        .enroll(
            &program,
            json!({"name": "Ada Lovelace", "external_id": "CRM-7"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let member = r.body["id"].as_str().unwrap().to_string();
    let pass_url = r.body["pass_url"].as_str().unwrap().to_string();
    let e = app
        .earn(&member, &app.admin, "seed", json!({"amount": 120}))
        .await;
    assert_eq!(e.status, 201, "{:?}", e.body);
    let code = app.pass_barcode(&pass_url).await;
    Counter {
        program,
        location,
        staff,
        staff_id,
        member,
        code,
        coffee,
        cake,
        tote,
    }
}

/// The member's ledger, newest first.
pub async fn ledger(app: &TestApp, member: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/members/{member}/ledger"), &app.admin)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["entries"].as_array().unwrap().clone()
}

/// Scan records, newest first.
pub async fn scans(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/v1/scans", &app.admin).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["scans"].as_array().unwrap().clone()
}

pub async fn balance(app: &TestApp, member: &str) -> i64 {
    let r = app
        .get(&format!("/api/v1/members/{member}"), &app.admin)
        .await;
    r.body["balance"].as_i64().unwrap()
}

/// Signs in on `/staff` with the counter's key and waits for its location to be chosen.
pub async fn sign_in_staff(b: &mut Browser, app: &TestApp, c: &Counter) {
    b.phone().await;
    b.goto(&app.url("/staff")).await;
    b.fill("#key", &c.staff).await;
    b.click("#sign-in-form button[type=submit]").await;
    let who = b.wait("#whoami").await;
    assert_eq!(who, "Signed in as Till 1 – Anna");
    b.wait("#location[data-loaded='1']").await;
    let chosen = b.eval("document.getElementById('location').value").await;
    assert_eq!(chosen, json!(c.location), "the only location is chosen");
}

/// The test's name with its engine, so the two runs keep their screenshots apart.
pub fn test_name(app: &TestApp, test: &str) -> String {
    format!("{test}::{:?}", app.state.store.engine()).to_lowercase()
}

pub fn reward_button(reward: &str) -> String {
    format!("#rewards button[data-reward-id='{reward}']")
}

pub async fn disabled(b: &mut Browser, selector: &str) -> bool {
    let expr = format!("document.querySelector({}).disabled", json!(selector));
    b.eval(&expr).await.as_bool().unwrap()
}
