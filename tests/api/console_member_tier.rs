//! A member's tier set by hand in the console: it holds while points would move it, the card
//! the phone fetches shows it, and handing it back to the points moves it to what the points
//! reach. A tier not of the program is refused in words; staff cannot change tiers. The
//! member page lists the devices holding the card one by one.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::console::*;
use crate::device::{install, pass_json, Device};
use crate::helpers::*;
use passwright::domain::api_key::Role;

/// Every field value on the front and back of a pass, as text.
fn pass_values(pass: &serde_json::Value) -> Vec<String> {
    [
        "headerFields",
        "primaryFields",
        "secondaryFields",
        "auxiliaryFields",
        "backFields",
    ]
    .iter()
    .filter_map(|k| pass["storeCard"][k].as_array())
    .flatten()
    .map(|f| f["value"].to_string())
    .collect()
}

both_engines!(
    a_tier_set_by_hand_holds_until_given_back_to_the_points,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let ada = app.member(&program, "Ada Lovelace").await;
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        add_user(&app, "till@beans.example", Role::Staff, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let till = sign_in(&app, "till@beans.example").await;
        let path = format!("/console/members/{ada}");
        let tier = format!("{path}/tier");

        // On two iPhones: both listed, in the order they were added.
        let pass = install(&app, &ada).await;
        for (device, token) in [("device-one-111aaa", "aa"), ("device-two-222bbb", "bb")] {
            let status = Device::new(device, &token.repeat(32)).register(&pass).await;
            assert_eq!(status.as_u16(), 201);
        }
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(html.contains("On 2 devices"), "{html}");
        let one = html.find("Device 1 <span class=\"hint\">(…111aaa)</span>");
        let two = html.find("Device 2 <span class=\"hint\">(…222bbb)</span>");
        assert!(one.is_some() && two.is_some() && one < two, "{html}");
        assert!(html.contains("As the points decide (now Bronze)"), "{html}");

        // Refused: staff, a tier of no program, no CSRF token.
        let staff = form(
            &app,
            &till.cookie,
            &tier,
            &[("csrf", &till.csrf), ("tier", "=Gold")],
        )
        .await;
        assert_eq!(staff.status, 403);
        let unknown = form(
            &app,
            &owner.cookie,
            &tier,
            &[("csrf", &owner.csrf), ("tier", "=Platinum")],
        )
        .await;
        assert_eq!(unknown.status, 422);
        assert!(
            text(&unknown).contains("not one of this program"),
            "{}",
            text(&unknown)
        );
        let forged = form(&app, &owner.cookie, &tier, &[("tier", "=Gold")]).await;
        assert_eq!(forged.status, 403);
        let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
        assert_eq!(member.body["tier"], "Bronze", "nothing changed");

        // Gold by hand: the page, the card on the phone and the audit log say so.
        let done = form(
            &app,
            &owner.cookie,
            &tier,
            &[("csrf", &owner.csrf), ("tier", "=Gold")],
        )
        .await;
        assert_eq!(done.status, 303, "{}", text(&done));
        let html = text(&page(&app, &owner.cookie, &format!("{path}?notice=tier")).await);
        assert!(html.contains("Tier changed"), "{html}");
        assert!(
            html.contains("<dd>Gold <span class=\"hint\">(set by hand)</span>"),
            "{html}"
        );
        let fetched = app
            .send(
                Method::GET,
                &format!("/wallet/v1/passes/{}/{}", pass.pass_type, pass.serial),
                None,
                None,
                &[("Authorization", &format!("ApplePass {}", pass.auth))],
            )
            .await;
        assert_eq!(fetched.status, 200);
        let values = pass_values(&pass_json(&fetched.bytes));
        assert!(values.iter().any(|v| v.contains("Gold")), "{values:?}");
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        assert!(
            audit.contains("data-action=\"member.tier_changed\""),
            "{audit}"
        );

        // 150 points would make her Silver; the tier set by hand holds.
        let earned = app
            .earn(&ada, &app.admin, "tier-earn-1", json!({"amount": 150}))
            .await;
        assert!(earned.status.is_success(), "{:?}", earned.body);
        let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
        assert_eq!(member.body["tier"], "Gold", "{:?}", member.body);
        let points = member.body["lifetime_points"].as_i64().unwrap();
        assert!((100..500).contains(&points), "{points}");

        // Given back to the points: Silver, and moving with them again.
        let back = form(
            &app,
            &owner.cookie,
            &tier,
            &[("csrf", &owner.csrf), ("tier", "points")],
        )
        .await;
        assert_eq!(back.status, 303);
        let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
        assert_eq!(member.body["tier"], "Silver", "{:?}", member.body);
        let html = text(&page(&app, &owner.cookie, &path).await);
        assert!(!html.contains("(set by hand)</span></dd>"), "{html}");
        app.earn(&ada, &app.admin, "tier-earn-2", json!({"amount": 500}))
            .await;
        let member = app.get(&format!("/api/v1/members/{ada}"), &app.admin).await;
        assert_eq!(member.body["tier"], "Gold", "{:?}", member.body);
    }
);
