use super::*;
use crate::domain::program::sample;

/// The pairs a browser sends for `form`, as the designer's template names its controls.
fn pairs_of(form: &DesignForm) -> Vec<(String, String)> {
    let mut p = vec![
        ("name".to_owned(), form.name.clone()),
        ("organization".into(), form.organization.clone()),
        ("logo_text".into(), form.logo_text.clone()),
        ("description".into(), form.description.clone()),
        ("background".into(), form.background.clone()),
        ("foreground".into(), form.foreground.clone()),
        ("label_color".into(), form.label_color.clone()),
    ];
    for f in &form.fields {
        p.push((format!("place.{}", f.key), f.place.clone()));
        p.push((format!("label.{}", f.key), f.label.clone()));
        if let Some(m) = &f.message {
            p.push((format!("message.{}", f.key), m.clone()));
        }
    }
    p.push(("barcode".into(), form.barcode.clone()));
    p.push(("terms".into(), form.terms.clone()));
    for (i, b) in form.back.iter().enumerate() {
        p.push((format!("back_key.{i}"), b.key.clone()));
        p.push((format!("back_label.{i}"), b.label.clone()));
        p.push((format!("back_value.{i}"), b.value.clone()));
    }
    p.push(("main_language".into(), form.main_language.clone()));
    for l in &form.languages {
        p.push(("language".into(), l.clone()));
    }
    for (i, t) in form.translations.iter().enumerate() {
        p.push((format!("tr_source.{i}"), t.source.clone()));
        for (lang, v) in &t.values {
            p.push((format!("tr.{lang}.{i}"), v.clone()));
        }
    }
    if form.notify_balance_changes {
        p.push(("notify_balance_changes".into(), "on".into()));
    }
    p
}

fn set(pairs: &mut [(String, String)], name: &str, value: &str) {
    let slot = pairs.iter_mut().find(|(k, _)| k == name).unwrap();
    slot.1 = value.to_owned();
}

#[test]
fn a_design_survives_the_form_unchanged() {
    let mut program = sample();
    let design: Design = serde_json::from_value(serde_json::json!({
        "colors": {"background": "#1e3a5f", "foreground": "#ffffff", "label": "#d0e0f0"},
        "logo_text": "Beans",
        "layout": {"header": ["tier"], "primary": ["points"], "secondary": ["name", "member_number"],
                   "auxiliary": ["next_tier"], "back": ["lifetime_points", "member_since"]},
        "labels": {"points": "Beans"},
        "change_messages": {"points": "Now %@ beans"},
        "back_fields": [
            {"key": "terms", "label": "Terms and conditions", "value": "Points never expire."},
            {"key": "hours", "label": "Opening hours", "value": "Mon-Fri 7-19"},
            {"key": "web", "label": "Website", "value": "https://beans.example"}
        ],
        "languages": ["en", "de"],
        "localizations": {"de": {"Beans": "Bohnen", "Opening hours": "Öffnungszeiten"}},
        "notify_balance_changes": true,
        "barcode": "pdf417"
    }))
    .unwrap();
    program.design = design.validated().unwrap();
    let sources = crate::wallet::apple::pass_json::translatable(&program);
    let form = DesignForm::of(&program, &sources);
    assert_eq!(form.terms, "Points never expire.");
    assert_eq!(form.back.len(), 2);
    let sent = DesignForm::sent(&pairs_of(&form));
    let (name, organization, back) = sent.parse().unwrap();
    assert_eq!(
        (name.as_str(), organization.as_str()),
        ("Bean There", "Bean There Coffee")
    );
    assert_eq!(back, program.design);
}

#[test]
fn problems_are_in_words_and_keep_what_was_typed() {
    let program = sample();
    let mut pairs = pairs_of(&DesignForm::of(&program, &[]));
    set(&mut pairs, "name", "  ");
    set(&mut pairs, "background", "navy-ish");
    set(&mut pairs, "place.name", "primary");
    set(&mut pairs, "place.member_number", "header");
    pairs.push(("back_label.0".into(), "Phone".into()));
    pairs.push(("back_value.0".into(), "".into()));
    let sent = DesignForm::sent(&pairs);
    let problems = sent.parse().unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["name", "background", "layout", "back"],
        "{problems:?}"
    );
    assert!(problems[1].message.contains("\"navy-ish\" is not a colour"));
    assert_eq!(
        problems[2].message,
        "Only one field can be the large one over the strip."
    );
    assert_eq!(sent.background, "navy-ish", "kept as typed");
    assert_eq!(sent.back[0].label, "Phone");

    let mut pairs = pairs_of(&DesignForm::of(&program, &[]));
    set(&mut pairs, "message.points", "Updated!");
    let problems = DesignForm::sent(&pairs).parse().unwrap_err();
    assert_eq!(
        problems[0].message,
        "A lock-screen message: must contain %@ exactly once (Wallet puts the new value there)."
    );
}

#[test]
fn low_contrast_is_warned_about() {
    let mut design = Design::default();
    assert!(contrast_warnings(&design).is_empty());
    design.colors.background = Rgb(255, 255, 255);
    design.colors.foreground = Rgb(0x77, 0x77, 0x77);
    let warnings = contrast_warnings(&design);
    assert_eq!(warnings.len(), 2, "text and field names: {warnings:?}");
    assert_eq!(
        warnings[0],
        "The text (#777777) on the background (#ffffff) has a contrast of 4.48:1, below the 4.5:1 people need to read it easily. Pick a darker or lighter colour."
    );
}
