//! Reports, the report CSV and the charts answer as docs/openapi.json says (openapi.rs has
//! the checker).

use serde_json::json;

use crate::helpers::*;
use crate::openapi::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_answers_match_the_document() {
    let Some(app) = spawn_app(Engine::Sqlite, "openapi::report_answers_match").await else {
        return;
    };
    let doc = document();
    let api = Api::new(&app, &doc);
    let program = app.sample_program().await;
    let r = app
        .post(
            &format!("/api/v1/programs/{program}/locations"),
            &app.admin,
            json!({"name": "Main"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let member = app.member(&program, "Ada").await;
    let r = app
        .earn(&member, &app.admin, "report", json!({"amount": 120}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let json = "/api/v1/programs/{id}/reports";
    let path = format!("/api/v1/programs/{program}/reports");
    let r = api.call("GET", json, &path, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totals"]["members_enrolled"], 1, "{}", r.body);
    assert_eq!(
        r.body["totals"]["points_redemption_rate"], 0.0,
        "{}",
        r.body
    );
    assert_eq!(r.body["locations"].as_array().unwrap().len(), 1);
    // A report's rows are `allOf` compositions (the figures, ReportMetrics, and the row's own
    // fields), closed as a whole (openapi.rs, `closed`): the answer passes, and a field that
    // neither part lists, or one that either part requires, is caught; the totals use
    // ReportMetrics alone, which is closed there.
    let report = "/components/schemas/Report";
    assert_eq!(api.schemas.errors(report, &r.body), Vec::<String>::new());
    let mut extra = r.body.clone();
    extra["locations"][0]["x"] = json!(1);
    let mut no_name = r.body.clone();
    no_name["locations"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let mut no_figure = r.body.clone();
    no_figure["locations"][0]
        .as_object_mut()
        .unwrap()
        .remove("redemptions");
    let mut extra_total = r.body.clone();
    extra_total["totals"]["x"] = json!(1);
    for (what, body) in [
        ("a location row with an undocumented field", extra),
        ("a location row without its name", no_name),
        ("a location row without a figure", no_figure),
        ("totals with an undocumented field", extra_total),
    ] {
        assert!(
            !api.schemas.errors(report, &body).is_empty(),
            "{what} passes"
        );
    }
    let r = api
        .call("GET", json, &format!("{path}?period=week"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call("GET", json, &format!("{path}?period=year"), None)
        .await;
    assert_eq!(r.code(), "validation_failed");
    let r = api
        .call("GET", json, &format!("{path}?sort=name"), None)
        .await;
    assert_eq!(r.code(), "invalid_query");
    let csv = "/api/v1/programs/{id}/reports.csv";
    let r = api
        .call(
            "GET",
            csv,
            &format!("{path}.csv?period=week&from=2026-03-02&to=2026-03-15"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"passwright-report-week-2026-03-02-2026-03-15.csv\""
    );
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(text.starts_with("period_start,period_end,"), "{text}");
    let chart = "/api/v1/programs/{id}/reports/charts/{name}.svg";
    for name in ["redemption_rate", "funnel", "top_rewards", "locations"] {
        let r = api
            .call(
                "GET",
                chart,
                &format!("{path}/charts/{name}.svg?period=week"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(header(&r, "cache-control"), "no-store");
        assert!(String::from_utf8_lossy(&r.bytes).contains("<svg"), "{name}");
    }
    let r = api
        .call("GET", chart, &format!("{path}/charts/pie.svg"), None)
        .await;
    r.assert_refused(404, "not_found", None);
    let r = api
        .call(
            "GET",
            chart,
            &format!("{path}/charts/funnel.svg?period=year"),
            None,
        )
        .await;
    assert_eq!(r.code(), "validation_failed");
    let other = app
        .create_key("marketer", Some(&app.sample_program().await))
        .await;
    let r = api
        .send("GET", json, &path, Some(other.as_str()), None, &[])
        .await;
    r.assert_refused(403, "forbidden", None);
}
