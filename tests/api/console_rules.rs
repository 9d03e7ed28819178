//! A program's rules from the console: earn rules typed as a person would ("Hot drinks",
//! "1,5"), tiers that move members at once, rewards added, repriced and retired, points
//! expiry; refusals in words with everything kept; every change in the audit log.

use serde_json::json;

use crate::both_engines;
use crate::console::*;
use crate::console_designer::form_fields;
use crate::helpers::*;
use passwright::domain::api_key::Role;

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    fields
        .iter_mut()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no field {name}"))
        .1 = value.to_owned();
}

async fn post(app: &TestApp, who: &Session, path: &str, fields: &[(String, String)]) -> Reply {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(app, &who.cookie, path, &pairs).await
}

both_engines!(
    a_marketer_sets_the_rules_in_words,
    |app: TestApp| async move {
        let program = app.sample_program().await;
        let ada = app.member(&program, "Ada").await;
        let r = app
            .earn(
                &ada,
                &app.admin,
                "rules-1",
                json!({"amount": "150", "product_types": []}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        add_user(
            &app,
            "marketer@beans.example",
            Role::Marketer,
            Some(&program),
        )
        .await;
        let who = sign_in(&app, "marketer@beans.example").await;
        let rules = format!("/console/programs/{program}/rules");
        let html = text(&page(&app, &who.cookie, &rules).await);

        // Earn rules.
        let mut earn = form_fields(&html, "earn");
        set(&mut earn, "points_per_unit", "1,5");
        set(&mut earn, "product.1", "Hot drinks");
        set(&mut earn, "multiplier.1", "3");
        let r = post(&app, &who, &format!("{rules}/earn"), &earn).await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let saved = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await
            .body;
        assert_eq!(
            saved["earn_rules"],
            json!({"points_per_unit": "1.5", "multipliers": {"coffee": "2", "hot-drinks": "3"}})
        );
        let r = app
            .earn(
                &ada,
                &app.admin,
                "rules-2",
                json!({"amount": "10", "product_types": ["hot-drinks"]}),
            )
            .await;
        assert_eq!(
            r.body["member"]["balance"].as_i64(),
            Some(150 + 45),
            "{}",
            r.body
        );

        // A product type that cannot be: refused in words, the rows kept.
        let mut bad = form_fields(&text(&page(&app, &who.cookie, &rules).await), "earn");
        set(&mut bad, "product.2", "tea & cake!");
        set(&mut bad, "multiplier.2", "2");
        let r = post(&app, &who, &format!("{rules}/earn"), &bad).await;
        assert_eq!(r.status, 422);
        let html = text(&r);
        assert!(
            html.contains("cannot be a product type: use up to 40 letters"),
            "{html}"
        );
        assert!(!html.contains("a-z0-9"), "no pattern shown");
        let kept = form_fields(&html, "earn");
        assert!(
            kept.iter()
                .any(|(k, v)| k == "product.2" && v == "tea & cake!"),
            "{kept:?}"
        );

        // Tiers: Ada (195 points ever earned) moves down to Bronze when Silver starts at 200.
        let mut tiers = form_fields(&text(&page(&app, &who.cookie, &rules).await), "tiers");
        set(&mut tiers, "tier_threshold.1", "200");
        let r = post(&app, &who, &format!("{rules}/tiers"), &tiers).await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let member = app
            .get(&format!("/api/v1/members/{ada}"), &app.admin)
            .await
            .body;
        assert_eq!(member["tier"], "Bronze", "{member}");
        set(&mut tiers, "tier_threshold.2", "200");
        let r = post(&app, &who, &format!("{rules}/tiers"), &tiers).await;
        assert_eq!(r.status, 422);
        assert!(
            text(&r).contains("Gold and Silver both start at 200 points"),
            "{}",
            text(&r)
        );

        // Rewards: added, then repriced and retired.
        let mut reward = form_fields(&text(&page(&app, &who.cookie, &rules).await), "new-reward");
        set(&mut reward, "name", "Free coffee");
        set(&mut reward, "cost", "1 000");
        let r = post(
            &app,
            &who,
            &format!("/console/programs/{program}/rewards"),
            &reward,
        )
        .await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let listed = app
            .get(&format!("/api/v1/programs/{program}/rewards"), &app.admin)
            .await
            .body;
        let id = listed["rewards"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(listed["rewards"][0]["cost"], 1000);
        let page_now = text(&page(&app, &who.cookie, &rules).await);
        let edit_start = page_now.find(&format!("data-reward=\"{id}\"")).unwrap();
        let form_start = page_now[..edit_start].rfind("<form").unwrap();
        let mut edit = form_fields(
            &format!("<form id=\"edit\"{}", &page_now[form_start + 5..]),
            "edit",
        );
        set(&mut edit, "cost", "900");
        edit.retain(|(k, _)| k != "active");
        let r = post(
            &app,
            &who,
            &format!("/console/programs/{program}/rewards/{id}"),
            &edit,
        )
        .await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let listed = app
            .get(&format!("/api/v1/programs/{program}/rewards"), &app.admin)
            .await
            .body;
        assert_eq!(
            (
                listed["rewards"][0]["cost"].as_i64(),
                listed["rewards"][0]["active"].as_bool()
            ),
            (Some(900), Some(false))
        );

        // Expiry.
        let mut expiry = form_fields(&text(&page(&app, &who.cookie, &rules).await), "expiry");
        expiry.push(("expires".into(), "on".into()));
        set(&mut expiry, "months", "24");
        set(&mut expiry, "reminder_days", "7");
        let r = post(&app, &who, &format!("{rules}/expiry"), &expiry).await;
        assert_eq!(r.status, 303, "{}", text(&r));
        let saved = app
            .get(&format!("/api/v1/programs/{program}"), &app.admin)
            .await
            .body;
        assert_eq!(saved["expiry"], json!({"months": 24, "reminder_days": 7}));

        // All in the audit log (read by an owner).
        add_user(&app, "owner@beans.example", Role::Admin, None).await;
        let owner = sign_in(&app, "owner@beans.example").await;
        let audit = text(&page(&app, &owner.cookie, "/console/audit").await);
        for words in [
            "Changed how points are earned",
            "Changed the tiers",
            "Added a reward",
            "Changed a reward",
            "Changed when points expire",
        ] {
            assert!(audit.contains(words), "{words}");
        }

        // Staff cannot.
        add_user(&app, "staff@beans.example", Role::Staff, Some(&program)).await;
        let staff = sign_in(&app, "staff@beans.example").await;
        assert_eq!(page(&app, &staff.cookie, &rules).await.status, 403);
        let mut earn = earn.clone();
        set(&mut earn, "csrf", &staff.csrf);
        assert_eq!(
            post(&app, &staff, &format!("{rules}/earn"), &earn)
                .await
                .status,
            403
        );
    }
);
