//! Reports against a scripted fixture whose figures were worked out by hand (see the
//! comments: every expected value below is derived there, not read back from the code).

use std::sync::Arc;

use passwright::clock::{ManualClock, SharedClock};
use serde_json::{json, Value};
use time::{Date, Duration};

use crate::both_engines;
use crate::device::{install, push_token, Device};
use crate::helpers::*;

/// The fixture's first day: next week's Monday (the development certificates are valid from
/// now on, and the app checks them against its clock).
fn monday() -> Date {
    let today = passwright::clock::system_now().date();
    today + Duration::days(7 - i64::from(today.weekday().number_days_from_monday()))
}

fn day(n: i64) -> String {
    (monday() + Duration::days(n)).to_string()
}

struct Fixture {
    app: TestApp,
    program: String,
    main: String,
    kiosk: String,
    staff_b_id: String,
}

async fn post_ok(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, &app.admin, body).await;
    assert!(r.status.is_success(), "{path}: {:?}", r.body);
    r.body
}

/// The script, in UTC, from a Monday:
///
/// Monday: Ada, Bob, Cy enroll. Ada installs her card on an iPhone. Staff A at Main:
///   Ada buys 40.00 (40 points), Ada buys 20.00 of coffee (2x: 40 points), a forged code is
///   refused. Staff B at Kiosk: Bob buys 10.00 (10 points).
/// Tuesday: A at Main: Ada redeems the mug (-50). B at Kiosk: Bob visits; Bob tries the
///   coffee (30) with 10 points: refused. An admin adjusts Cy +100 (an adjustment, not earned).
/// The next Monday: Dee enrolls; Cy's card is voided. A at Main: Dee buys 5.00 (5 points), Ada
///   redeems a coffee (-30).
async fn fixture(engine: Engine, test: &str) -> Option<Fixture> {
    let clock = ManualClock::at(monday().with_hms(10, 0, 0).unwrap().assume_utc());
    let data_dir = tempfile::tempdir().unwrap();
    let Some(url) = database_url(engine, data_dir.path()).await else {
        skip(test, "postgres", "set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let settings = settings_for(data_dir.path(), &url);
    let shared: SharedClock = Arc::new(clock.clone());
    let app = spawn_with_clock(settings, data_dir, shared).await;
    let tick = || clock.advance(time::Duration::minutes(1));
    let program = app.sample_program().await;
    let rewards = format!("/api/v1/programs/{program}/rewards");
    let mug = post_ok(&app, &rewards, json!({"name": "Free mug", "cost": 50})).await;
    let coffee = post_ok(
        &app,
        &rewards,
        json!({"name": "Free coffee", "cost": 30, "repeatable": true}),
    )
    .await;
    let locations = format!("/api/v1/programs/{program}/locations");
    let main = post_ok(&app, &locations, json!({"name": "Main"})).await;
    let kiosk = post_ok(&app, &locations, json!({"name": "Kiosk"})).await;
    let (main, kiosk) = (main["id"].as_str().unwrap(), kiosk["id"].as_str().unwrap());
    let (mug, coffee) = (mug["id"].as_str().unwrap(), coffee["id"].as_str().unwrap());
    let staff_a = app.create_key("staff", Some(&program)).await;
    let staff_b = app.create_key("staff", Some(&program)).await;
    let staff_b_id = app.get("/api/v1/me", &staff_b).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Monday
    let ada = app.member(&program, "Ada").await;
    let bob = app.member(&program, "Bob").await;
    let cy = app.member(&program, "Cy").await;
    let pass = install(&app, &ada).await;
    assert_eq!(
        Device::new("report-iphone", &push_token(1))
            .register(&pass)
            .await,
        201
    );
    let (ada_code, bob_code) = (app.card_code(&ada).await, app.card_code(&bob).await);
    let mut n = 0;
    let mut act = |key: &str, body: Value| {
        n += 1;
        let key = key.to_string();
        let idem = format!("fixture-{n}");
        let app = &app;
        tick();
        async move { app.scan(&key, Some(&idem), body).await }
    };
    let purchase = |code: &str, at: &str, amount: &str, products: Value| json!({"code": code, "location_id": at, "action": "purchase", "amount": amount, "product_types": products});
    let r = act(&staff_a, purchase(&ada_code, main, "40.00", json!([]))).await;
    assert_eq!(r.body["entry"]["amount"], 40);
    let r = act(
        &staff_a,
        purchase(&ada_code, main, "20.00", json!(["coffee"])),
    )
    .await;
    assert_eq!(r.body["entry"]["amount"], 40);
    let forged = format!("{}x", &ada_code[..ada_code.len() - 1]);
    let r = act(&staff_a, json!({"code": forged, "location_id": main})).await;
    r.assert_refused(422, "scan_rejected", None);
    let r = act(&staff_b, purchase(&bob_code, kiosk, "10.00", json!([]))).await;
    assert_eq!(r.body["entry"]["amount"], 10);

    // Tuesday
    clock.advance(time::Duration::days(1));
    let redeem = |code: &str, at: &str, reward: &str| json!({"code": code, "location_id": at, "action": "redeem", "reward_id": reward});
    let r = act(&staff_a, redeem(&ada_code, main, mug)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = act(
        &staff_b,
        json!({"code": bob_code, "location_id": kiosk, "action": "visit"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = act(&staff_b, redeem(&bob_code, kiosk, coffee)).await;
    assert_eq!(r.code(), "insufficient_points");
    let r = app
        .adjust(
            &cy,
            "cy-goodwill",
            json!({"points": 100, "reason": "goodwill"}),
        )
        .await;
    assert_eq!(r.status, 201);

    // The next Monday
    clock.advance(time::Duration::days(6));
    let dee = app.member(&program, "Dee").await;
    let void = app
        .post(&format!("/api/v1/members/{cy}/void"), &app.admin, json!({}))
        .await;
    assert_eq!(void.status, 200);
    let dee_code = app.card_code(&dee).await;
    let r = act(&staff_a, purchase(&dee_code, main, "5.00", json!([]))).await;
    assert_eq!(r.body["entry"]["amount"], 5);
    let r = act(&staff_a, redeem(&ada_code, main, coffee)).await;
    assert_eq!(r.status, 201);
    Some(Fixture {
        program,
        main: main.to_string(),
        kiosk: kiosk.to_string(),
        staff_b_id,
        app,
    })
}

/// The figures that matter, as (name, expected) pairs checked against one metrics object.
fn check(what: &str, m: &Value, expected: &[(&str, Value)]) {
    for (name, value) in expected {
        assert_eq!(&m[*name], value, "{what}: {name} in {m}");
    }
}

async fn reports_match_the_hand_computed_fixture(engine: Engine, test: &str) {
    let Some(f) = fixture(engine, test).await else {
        return;
    };
    let app = &f.app;
    let base = format!("/api/v1/programs/{}/reports", f.program);
    let r = app
        .get(
            &format!("{base}?period=day&from={}&to={}", day(0), day(7)),
            &app.admin,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let periods = r.body["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 8);
    assert_eq!(periods[0]["start"], day(0));
    assert_eq!(periods[7]["end"], day(8));
    // Monday: 3 enrolled; Ada's iPhone; Ada and Bob active; 3 purchases (Ada twice, Bob) and
    // the forged scan; 40+40+10 = 90 points; purchase values 40, 20, 10 -> 23.33; Ada came
    // twice, Bob once -> repeat 1/2; purchases per purchasing member 3/2.
    check(
        "monday",
        &periods[0],
        &[
            ("members_enrolled", json!(3)),
            ("cards_installed", json!(1)),
            ("apple_registrations", json!(1)),
            ("google_saves", json!(0)),
            ("active_members", json!(2)),
            ("scans_accepted", json!(3)),
            ("scans_rejected", json!(1)),
            ("redemptions", json!(0)),
            ("purchases", json!(3)),
            ("points_earned", json!(90)),
            ("points_redeemed", json!(0)),
            ("members_at_start", json!(0)),
            ("members_at_end", json!(3)),
            ("points_redemption_rate", json!(0.0)),
            ("member_redemption_rate", json!(0.0)),
            ("repeat_visit_rate", json!(0.5)),
            ("purchase_frequency", json!(1.5)),
            ("average_purchase_value", json!(23.33)),
            ("retention", Value::Null),
        ],
    );
    // Tuesday: Ada's mug and Bob's visit accepted, Bob's coffee refused; Cy's adjustment is
    // not earning; one of three members redeemed; all three members stayed.
    check(
        "tuesday",
        &periods[1],
        &[
            ("members_enrolled", json!(0)),
            ("active_members", json!(2)),
            ("scans_accepted", json!(2)),
            ("scans_rejected", json!(1)),
            ("redemptions", json!(1)),
            ("points_earned", json!(0)),
            ("points_redeemed", json!(50)),
            ("points_redemption_rate", Value::Null),
            ("member_redemption_rate", json!(0.3333)),
            ("repeat_visit_rate", json!(0.0)),
            ("purchase_frequency", Value::Null),
            ("average_purchase_value", Value::Null),
            ("retention", json!(1.0)),
        ],
    );
    check(
        "a quiet day",
        &periods[4],
        &[
            ("scans_accepted", json!(0)),
            ("active_members", json!(0)),
            ("members_at_start", json!(3)),
            ("retention", json!(1.0)),
        ],
    );
    // The next Monday: Dee joins, Cy is voided (3 at the end), Dee buys 5, Ada redeems 30.
    check(
        "next monday",
        &periods[7],
        &[
            ("members_enrolled", json!(1)),
            ("members_at_start", json!(3)),
            ("members_at_end", json!(3)),
            ("active_members", json!(2)),
            ("points_earned", json!(5)),
            ("points_redeemed", json!(30)),
            ("points_redemption_rate", json!(6.0)),
            ("retention", json!(0.6667)),
            ("average_purchase_value", json!(5.0)),
        ],
    );
    // The whole range: 4 enrolled, 3 at the end; 95 earned, 80 redeemed; Ada, Bob and Dee
    // active; Ada and Bob came at least twice out of three who came.
    check(
        "totals",
        &r.body["totals"],
        &[
            ("members_enrolled", json!(4)),
            ("cards_installed", json!(1)),
            ("active_members", json!(3)),
            ("scans_accepted", json!(7)),
            ("scans_rejected", json!(2)),
            ("redemptions", json!(2)),
            ("purchases", json!(4)),
            ("points_earned", json!(95)),
            ("points_redeemed", json!(80)),
            ("points_redemption_rate", json!(0.8421)),
            ("member_redemption_rate", json!(0.3333)),
            ("repeat_visit_rate", json!(0.6667)),
            ("purchase_frequency", json!(1.3333)),
            ("average_purchase_value", json!(18.75)),
        ],
    );
    let rewards: Vec<(String, i64)> = r.body["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["redemptions"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rewards,
        [("Free coffee".to_string(), 1), ("Free mug".to_string(), 1)]
    );
    let by_location = |id: &str| {
        r.body["locations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["location_id"] == id)
            .unwrap()
            .clone()
    };
    // Main: Ada's two purchases and two redemptions, Dee's purchase, the forged code.
    check(
        "main",
        &by_location(&f.main),
        &[
            ("scans_accepted", json!(5)),
            ("scans_rejected", json!(1)),
            ("redemptions", json!(2)),
            ("purchases", json!(3)),
            ("points_earned", json!(85)),
            ("points_redeemed", json!(80)),
        ],
    );
    check(
        "kiosk",
        &by_location(&f.kiosk),
        &[
            ("scans_accepted", json!(2)),
            ("scans_rejected", json!(1)),
            ("purchases", json!(1)),
            ("points_earned", json!(10)),
        ],
    );
    // Staff B's scans only; weekly periods start on Mondays.
    let b = app
        .get(
            &format!(
                "{base}?period=week&from={}&to={}&staff_key_id={}",
                day(0),
                day(7),
                f.staff_b_id
            ),
            &app.admin,
        )
        .await;
    assert_eq!(b.body["periods"].as_array().unwrap().len(), 2);
    check(
        "staff b",
        &b.body["totals"],
        &[
            ("scans_accepted", json!(2)),
            ("scans_rejected", json!(1)),
            ("points_earned", json!(10)),
        ],
    );
    // CSV: a header, a row per period and the total row.
    let csv = app
        .client
        .get(app.url(&format!(
            "{base}.csv?period=week&from={}&to={}",
            day(0),
            day(7)
        )))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("period_start,period_end,members_enrolled,"));
    let first = format!("{},{},3,1,1,0,", day(0), day(7));
    assert!(lines[1].starts_with(&first), "{}", lines[1]);
    assert!(lines[3].starts_with("total,,4,"), "{}", lines[3]);
    // Bad requests.
    for (query, field) in [
        ("period=year", "period"),
        ("from=2026-13-01", "from"),
        ("from=2026-03-09&to=2026-03-01", "to"),
        ("period=day&from=2020-01-01&to=2026-01-01", "period"),
        ("location_id=loc_aaaaaaaaaaaaaaaa", "location_id"),
    ] {
        let r = app.get(&format!("{base}?{query}"), &app.admin).await;
        assert_eq!(r.status, 422, "{query}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{query}");
    }
    let staff = app.create_key("staff", Some(&f.program)).await;
    app.get(&base, &staff)
        .await
        .assert_refused(403, "forbidden", None);
}

both_engines!(reports, run = reports_match_the_hand_computed_fixture);
