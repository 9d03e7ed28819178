use super::*;

/// Parses a chart as XML and checks what every chart must have: the SVG namespace,
/// `role="img"`, and a title and description that `aria-labelledby` points at.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(root.attribute("role"), Some("img"));
    let ids: Vec<&str> = root
        .attribute("aria-labelledby")
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(ids.len(), 2);
    let by_id = |id: &str| {
        doc.descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no element #{id}"))
    };
    assert_eq!(by_id(ids[0]).tag_name().name(), "title");
    assert_eq!(by_id(ids[1]).tag_name().name(), "desc");
    // Nothing the page's Content-Security-Policy would refuse.
    for n in doc.descendants() {
        assert!(n.tag_name().name() != "script" && n.tag_name().name() != "style");
        assert!(n.attribute("style").is_none());
        assert!(n.attributes().all(|a| !a.name().starts_with("on")));
    }
    doc
}

fn title<'a>(doc: &'a roxmltree::Document<'a>) -> &'a str {
    doc.root_element()
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap()
}

fn desc<'a>(doc: &'a roxmltree::Document<'a>) -> &'a str {
    doc.root_element()
        .children()
        .find(|n| n.has_tag_name("desc"))
        .and_then(|n| n.text())
        .unwrap()
}

/// `(data-label, data-value)` of every element of a class.
fn data<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<(&'a str, &'a str)> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .map(|n| {
            (
                n.attribute("data-label").unwrap(),
                n.attribute("data-value").unwrap(),
            )
        })
        .collect()
}

/// Every visible text, in document order.
fn texts<'a>(doc: &'a roxmltree::Document<'a>) -> Vec<&'a str> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect()
}

fn points(values: &[(&str, Option<f64>)]) -> Vec<(String, Option<f64>)> {
    values.iter().map(|(l, v)| (l.to_string(), *v)).collect()
}

#[test]
fn formats() {
    assert_eq!(ValueFormat::Percent.format(0.125), "12.5%");
    assert_eq!(ValueFormat::Percent.format(0.5), "50%");
    assert_eq!(ValueFormat::Percent.format(1.0), "100%");
    assert_eq!(ValueFormat::Count.format(1234567.0), "1,234,567");
    assert_eq!(ValueFormat::Count.format(999.0), "999");
    assert_eq!(ValueFormat::Count.format(-1200.0), "-1,200");
    assert_eq!(ValueFormat::Money.format(1234.5), "1,234.50");
    assert_eq!(ValueFormat::Money.format(0.0), "0.00");
}

#[test]
fn line_chart_has_a_point_and_value_per_period_and_gaps_for_missing_ones() {
    let svg = line_chart(
        "Redemption rate",
        &points(&[
            ("2026-11-02", Some(0.1)),
            ("2026-11-09", None),
            ("2026-11-16", Some(0.25)),
            ("2026-11-23", Some(0.5)),
        ]),
        ValueFormat::Percent,
    );
    let doc = parse(&svg);
    assert_eq!(title(&doc), "Redemption rate");
    assert_eq!(
        desc(&doc),
        "2026-11-02: 10%; 2026-11-09: no data; 2026-11-16: 25%; 2026-11-23: 50%"
    );
    assert_eq!(
        data(&doc, "point"),
        [
            ("2026-11-02", "10%"),
            ("2026-11-16", "25%"),
            ("2026-11-23", "50%")
        ]
    );
    assert_eq!(data(&doc, "gap"), [("2026-11-09", "")]);
    let shown = texts(&doc);
    for label in [
        "2026-11-02",
        "2026-11-09",
        "2026-11-23",
        "10%",
        "25%",
        "50%",
    ] {
        assert!(shown.contains(&label), "{label} not shown in {shown:?}");
    }
    // The gap starts a new subpath: two moves, and one line segment joining the last two.
    let path = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("line"))
        .unwrap()
        .attribute("d")
        .unwrap();
    assert_eq!(path.matches('M').count(), 2, "{path}");
    assert_eq!(path.matches('L').count(), 1, "{path}");
    // A higher value sits higher on the chart (smaller y).
    let cy: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| n.attribute("cy").unwrap().parse().unwrap())
        .collect();
    assert!(cy[0] > cy[1] && cy[1] > cy[2], "{cy:?}");
}

#[test]
fn long_series_label_every_nth_period_but_keep_every_point() {
    let series: Vec<(String, Option<f64>)> = (1..=40)
        .map(|d| (format!("day {d}"), Some(d as f64)))
        .collect();
    let doc_text = line_chart("Daily", &series, ValueFormat::Count);
    let doc = parse(&doc_text);
    assert_eq!(data(&doc, "point").len(), 40);
    let x_labels = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("x-label"))
        .count();
    assert!((10..=14).contains(&x_labels), "{x_labels} x labels");
    assert!(
        texts(&doc).contains(&"day 40"),
        "the last period is labelled"
    );
}

#[test]
fn bar_chart_has_a_bar_per_label_proportional_to_its_value() {
    let svg = bar_chart(
        "Top rewards",
        &[
            ("Free coffee".to_string(), 12.0),
            ("Cake".to_string(), 3.0),
            ("Tote bag".to_string(), 0.0),
        ],
        ValueFormat::Count,
    );
    let doc = parse(&svg);
    assert_eq!(
        data(&doc, "bar"),
        [("Free coffee", "12"), ("Cake", "3"), ("Tote bag", "0")]
    );
    assert_eq!(desc(&doc), "Free coffee: 12; Cake: 3; Tote bag: 0");
    let widths: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.parent().unwrap().has_tag_name("g"))
        .map(|n| n.attribute("width").unwrap().parse().unwrap())
        .collect();
    assert_eq!(widths.len(), 3);
    assert!((widths[0] / widths[1] - 4.0).abs() < 0.01, "{widths:?}");
    assert_eq!(widths[2], 0.0);
    for t in ["Free coffee", "Cake", "Tote bag", "12", "3", "0"] {
        assert!(texts(&doc).contains(&t), "{t}");
    }
}

#[test]
fn long_labels_are_cut_on_screen_but_kept_whole_for_readers() {
    let long = "A very long reward name that goes on and on";
    let svg = bar_chart(
        "Top rewards",
        &[(long.to_string(), 2.0)],
        ValueFormat::Count,
    );
    let doc = parse(&svg);
    assert_eq!(data(&doc, "bar")[0].0, long);
    assert!(desc(&doc).contains(long));
    let shown = texts(&doc);
    assert!(shown
        .iter()
        .any(|t| t.ends_with('…') && long.starts_with(t.trim_end_matches('…'))));
    assert!(!shown.contains(&long));
}

#[test]
fn funnel_shows_each_stage_and_what_it_kept_of_the_one_before() {
    let stages: Vec<(String, i64)> = [
        ("Enrolled", 200),
        ("Installed", 150),
        ("Active", 60),
        ("Redeemed", 15),
    ]
    .iter()
    .map(|(l, v)| (l.to_string(), *v))
    .collect();
    let doc_text = funnel("Enrolled to redeemed", &stages);
    let doc = parse(&doc_text);
    assert_eq!(
        data(&doc, "stage"),
        [
            ("Enrolled", "200"),
            ("Installed", "150"),
            ("Active", "60"),
            ("Redeemed", "15")
        ]
    );
    let shown = texts(&doc);
    assert!(shown.contains(&"Enrolled: 200"), "{shown:?}");
    assert!(
        shown.contains(&"Installed: 150 (75% of Enrolled)"),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"Active: 60 (40% of Installed)"),
        "{shown:?}"
    );
    assert!(shown.contains(&"Redeemed: 15 (25% of Active)"), "{shown:?}");
    let widths: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.parent().unwrap().has_tag_name("g"))
        .map(|n| n.attribute("width").unwrap().parse().unwrap())
        .collect();
    assert!(widths.windows(2).all(|w| w[0] > w[1]), "{widths:?}");
    assert!((widths[0] / widths[1] - 200.0 / 150.0).abs() < 0.01);
}

#[test]
fn a_funnel_of_zeros_still_shows_its_stages() {
    let stages = vec![("Enrolled".to_string(), 0), ("Installed".to_string(), 0)];
    let doc_text = funnel("Funnel", &stages);
    let doc = parse(&doc_text);
    assert_eq!(data(&doc, "stage").len(), 2);
    assert!(texts(&doc).contains(&"Installed: 0 (– of Enrolled)"));
}

#[test]
fn text_is_escaped_everywhere() {
    let nasty = r#"<script>alert("x")</script> & 'Tom's' ]]>"#;
    for svg in [
        line_chart(nasty, &points(&[(nasty, Some(0.5))]), ValueFormat::Percent),
        bar_chart(nasty, &[(nasty.to_string(), 1.0)], ValueFormat::Count),
        funnel(nasty, &[(nasty.to_string(), 1)]),
        line_chart(nasty, &[], ValueFormat::Percent),
    ] {
        assert!(!svg.contains("<script"), "{svg}");
        let doc = parse(&svg);
        assert_eq!(title(&doc), nasty);
        let shown = texts(&doc);
        assert!(
            shown.contains(&nasty),
            "the title reads as written: {shown:?}"
        );
    }
    // Control characters XML cannot carry are dropped, and the chart still parses.
    let svg = bar_chart(
        "a\u{1}b",
        &[("c\u{8}d".to_string(), 1.0)],
        ValueFormat::Count,
    );
    let doc = parse(&svg);
    assert_eq!(title(&doc), "ab");
    assert_eq!(data(&doc, "bar"), [("cd", "1")]);
}

#[test]
fn empty_data_renders_a_no_data_chart() {
    for svg in [
        line_chart("Redemption rate", &[], ValueFormat::Percent),
        line_chart(
            "Redemption rate",
            &points(&[("2026-11-02", None), ("2026-11-09", Some(f64::NAN))]),
            ValueFormat::Percent,
        ),
        bar_chart("Top rewards", &[], ValueFormat::Count),
        funnel("Funnel", &[]),
    ] {
        let doc = parse(&svg);
        assert!(doc
            .descendants()
            .any(|n| n.attribute("data-empty") == Some("true")));
        assert!(texts(&doc).contains(&"No data for the selected period"));
        assert_eq!(desc(&doc), "No data for the selected period.");
        assert!(data(&doc, "point").is_empty() && data(&doc, "bar").is_empty());
    }
}

#[test]
fn several_charts_on_one_page_have_distinct_ids() {
    let a = line_chart(
        "Redemption rate",
        &points(&[("w1", Some(0.1))]),
        ValueFormat::Percent,
    );
    let b = bar_chart("Top rewards", &[("x".to_string(), 1.0)], ValueFormat::Count);
    let id = |svg: &str| {
        parse(svg)
            .root_element()
            .attribute("aria-labelledby")
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&a), id(&b));
}

#[test]
fn a_single_value_and_negative_values_stay_inside_the_chart() {
    for series in [
        points(&[("only", Some(0.0))]),
        points(&[("a", Some(-5.0)), ("b", Some(10.0))]),
    ] {
        let svg = line_chart("Points", &series, ValueFormat::Count);
        let doc = parse(&svg);
        for c in doc.descendants().filter(|n| n.has_tag_name("circle")) {
            let cx: f64 = c.attribute("cx").unwrap().parse().unwrap();
            let cy: f64 = c.attribute("cy").unwrap().parse().unwrap();
            assert!(
                (0.0..=WIDTH).contains(&cx) && (TOP..=HEIGHT).contains(&cy),
                "{svg}"
            );
        }
    }
}
