use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn earn_rules_take_plain_words_and_decimal_commas() {
    let sent = EarnRows::sent(&pairs(&[
        ("points_per_unit", "1,5"),
        ("product.0", "Hot Drinks"),
        ("multiplier.0", "2"),
        ("product.1", "cake"),
        ("multiplier.1", "1,25"),
        ("product.2", ""),
        ("multiplier.2", ""),
    ]));
    let rules = sent.parse().unwrap();
    assert_eq!(rules.points_per_unit, Rate::parse("1.5").unwrap());
    assert_eq!(
        rules.multipliers.keys().collect::<Vec<_>>(),
        ["cake", "hot-drinks"]
    );
    let shown = EarnRows::of(&rules);
    assert_eq!(shown.points_per_unit, "1.5");
    assert_eq!(shown.multipliers[1], ("hot-drinks".into(), "2".into()));
    assert_eq!(shown.multipliers.len(), 4, "two spare rows");

    let bad = EarnRows::sent(&pairs(&[
        ("points_per_unit", "lots"),
        ("product.0", "coffee!"),
        ("multiplier.0", "2"),
        ("product.1", "tea"),
        ("multiplier.1", "0"),
    ]));
    let problems = bad.parse().unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("\"lots\" is not a number"));
    assert!(problems[1].starts_with("\"coffee!\" cannot be a product type"));
    assert!(
        !problems
            .iter()
            .any(|p| p.contains("a-z") || p.contains('^')),
        "no patterns"
    );
}

#[test]
fn tiers_keep_their_look_and_refuse_clashes_in_words() {
    let current = Tiers::validated(vec![Tier {
        name: "Gold".into(),
        threshold: 500,
        design: serde_json::from_str(r##"{"background_color": "#ffd700"}"##).unwrap(),
    }])
    .unwrap();
    let sent = TierRows::sent(&pairs(&[
        ("tier_name.0", "Bronze"),
        ("tier_threshold.0", "0"),
        ("tier_name.1", "Gold"),
        ("tier_threshold.1", "1.000"),
    ]));
    let tiers = sent.parse(&current).unwrap();
    let gold = tiers.by_name("Gold").unwrap();
    assert_eq!(gold.threshold, 1000);
    assert!(gold.design.is_some(), "the look stays");
    let clash = TierRows::sent(&pairs(&[
        ("tier_name.0", "Bronze"),
        ("tier_threshold.0", "0"),
        ("tier_name.1", "Silver"),
        ("tier_threshold.1", "0"),
        ("tier_name.2", ""),
        ("tier_threshold.2", "200"),
    ]));
    let problems = clash.parse(&current).unwrap_err();
    assert_eq!(
        problems,
        [
            "Silver and Bronze both start at 0 points; give each its own.",
            "The tier at 200 points needs a name (up to 40 characters)."
        ]
    );
}

#[test]
fn expiry_and_rewards_say_what_is_wrong() {
    let off = ExpiryRows::sent(&pairs(&[("months", "abc")]));
    assert_eq!(
        off.parse().unwrap(),
        None,
        "unticked: no expiry, whatever else"
    );
    let on = ExpiryRows::sent(&pairs(&[
        ("expires", "on"),
        ("months", "24"),
        ("reminder_days", ""),
    ]));
    assert_eq!(
        on.parse().unwrap(),
        Some(ExpiryPolicy {
            months: 24,
            reminder_days: 0
        })
    );
    let bad = ExpiryRows::sent(&pairs(&[
        ("expires", "on"),
        ("months", "0"),
        ("reminder_days", "400"),
    ]));
    assert_eq!(bad.parse().unwrap_err().len(), 2);

    let reward = RewardRow::sent(&pairs(&[("name", "Free coffee"), ("cost", "1 000")]));
    let spec = reward.parse().unwrap();
    assert_eq!(
        (spec.cost.value(), spec.active, spec.repeatable),
        (1000, true, false)
    );
    let retired = RewardRow::sent(&pairs(&[
        ("name", "Old"),
        ("cost", "5"),
        ("has_active", "1"),
    ]));
    assert!(!retired.parse().unwrap().active);
    let bad = RewardRow::sent(&pairs(&[("name", " "), ("cost", "-3")]));
    assert_eq!(
        bad.parse().unwrap_err(),
        [
            "Give the reward a name (up to 80 characters), like Free coffee.",
            "The reward: the cost is a whole number of points above 0, like 100."
        ]
    );
}
