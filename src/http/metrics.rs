//! `/metrics` in the Prometheus text format. Counters are per instance (Prometheus sums
//! them); the outbox and device-log gauges are read from the database and so are the same on
//! every instance.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use super::routes::Routes;
use crate::domain::distribution::MessageChannel;
use crate::outbox::{MessageResult, PushResult, WebhookResult};
use crate::state::AppState;

/// The area's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(metrics))]
pub struct Document;

/// Other methods answer actix's empty 405, as they always did.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes.add(__path_metrics, metrics);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes().register(cfg);
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn metric(&mut self, kind: &str, name: &str, help: &str, samples: &[(&str, f64)]) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(self.0, "{name}{labels} {value}");
        }
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.metric("counter", name, help, &[("", value as f64)]);
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.metric("gauge", name, help, &[("", value)]);
    }
}

/// Prometheus metrics
///
/// Metrics in the Prometheus text format: counters of this instance (passes signed, APNs pushes by outcome, outbox jobs, and with Google Wallet configured its messages, API calls and token refreshes), and gauges read from the database and so the same on every instance (outbox jobs by state, age of the oldest unfinished job, kept device logs). No key needed.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "operations",
    responses(
        (status = 200, description = "Metrics.", body = String, content_type = "text/plain"),
    ),
    security(),
)]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = Text::default();
    let c = &state.cards.counters;
    out.counter(
        "passwright_passes_signed_total",
        "Apple passes signed (cache misses).",
        c.signed.load(Ordering::Relaxed),
    );
    out.counter(
        "passwright_pass_cache_hits_total",
        "Apple passes served from the in-memory cache without signing.",
        c.cache_hits.load(Ordering::Relaxed),
    );
    out.counter(
        "passwright_member_lookups_total",
        "Card and member lookups in the database (scans of forged codes add none).",
        state.store.member_lookups(),
    );
    if let Some(w) = state.store.write_counts() {
        out.counter(
            "passwright_sqlite_write_turns_total",
            "SQLite: write transactions, each a turn on the writer connection.",
            w.turns.load(Ordering::Relaxed),
        );
        out.counter(
            "passwright_sqlite_commits_total",
            "SQLite: COMMITs of the writer connection; turns queued together share one.",
            w.commits.load(Ordering::Relaxed),
        );
    }
    let o = &state.outbox.counters;
    let labels: Vec<String> = PushResult::ALL
        .iter()
        .map(|r| format!("{{outcome=\"{}\"}}", r.label()))
        .collect();
    let samples: Vec<(&str, f64)> = PushResult::ALL
        .iter()
        .zip(&labels)
        .map(|(r, l)| (l.as_str(), o.pushes(*r) as f64))
        .collect();
    out.metric(
        "counter",
        "passwright_apns_pushes_total",
        "APNs pushes by outcome (retried: will be tried again; gave_up: attempts used up).",
        &samples,
    );
    let labels: Vec<String> = WebhookResult::ALL
        .iter()
        .map(|r| format!("{{outcome=\"{}\"}}", r.label()))
        .collect();
    let samples: Vec<(&str, f64)> = WebhookResult::ALL
        .iter()
        .zip(&labels)
        .map(|(r, l)| (l.as_str(), o.webhooks(*r) as f64))
        .collect();
    out.metric(
        "counter",
        "passwright_webhook_deliveries_total",
        "Webhook delivery attempts by outcome (retried: will be tried again; gave_up: attempts \
         used up; gone: 410, endpoint switched off; skipped: endpoint off or deleted).",
        &samples,
    );
    let channels = [MessageChannel::Email, MessageChannel::Sms];
    let labels: Vec<(MessageChannel, MessageResult, String)> = channels
        .iter()
        .flat_map(|c| {
            MessageResult::ALL.iter().map(move |r| {
                let l = format!("{{channel=\"{}\",outcome=\"{}\"}}", c.as_str(), r.label());
                (*c, *r, l)
            })
        })
        .collect();
    let samples: Vec<(&str, f64)> = labels
        .iter()
        .map(|(c, r, l)| (l.as_str(), o.messages(*c, *r) as f64))
        .collect();
    out.metric(
        "counter",
        "passwright_messages_total",
        "Email and SMS messages handled by this instance's workers, by outcome (delivered: \
         accepted by the relay or provider, or written to the development folder; skipped: no \
         consent, unsubscribed, no address or voided card; retried: will be tried again; failed: \
         refused for good, too long, or attempts used up).",
        &samples,
    );
    out.counter(
        "passwright_outbox_jobs_done_total",
        "Delivery jobs finished by this instance's workers (fan-outs are counted apart).",
        o.jobs_done.load(Ordering::Relaxed),
    );
    out.counter(
        "passwright_outbox_fan_outs_total",
        "Program-wide changes fanned out to devices by this instance.",
        o.fan_outs.load(Ordering::Relaxed),
    );
    out.counter(
        "passwright_outbox_jobs_retried_total",
        "Outbox job attempts that will be retried.",
        o.jobs_retried.load(Ordering::Relaxed),
    );
    out.counter(
        "passwright_outbox_jobs_failed_total",
        "Outbox jobs recorded as failed by this instance's workers.",
        o.jobs_failed.load(Ordering::Relaxed),
    );
    if let crate::outbox::Apns::On(client) = state.outbox.apns() {
        let s = client.stats();
        out.counter(
            "passwright_apns_connections_total",
            "HTTP/2 connections opened to APNs.",
            s.connections,
        );
        out.counter(
            "passwright_apns_connect_failures_total",
            "Failed attempts to connect to APNs (TLS or network).",
            s.connect_failures,
        );
        out.counter(
            "passwright_apns_forbidden_responses_total",
            "403 answers from APNs: the certificate or provider token was refused.",
            s.forbidden_responses,
        );
        out.gauge(
            "passwright_apns_in_flight",
            "Pushes waiting for an APNs answer right now.",
            s.in_flight as f64,
        );
    }
    if let Some(google) = &state.google {
        google_metrics(&mut out, google);
    }
    match state.store.outbox_stats().await {
        Ok(stats) => {
            out.metric(
                "gauge",
                "passwright_outbox_jobs",
                "Outbox jobs by state (all instances).",
                &[
                    ("{state=\"pending\"}", stats.pending as f64),
                    ("{state=\"running\"}", stats.running as f64),
                    ("{state=\"failed\"}", stats.failed as f64),
                ],
            );
            let age = stats
                .oldest_pending
                .map(|t| (state.clock.now() - t).as_seconds_f64().max(0.0))
                .unwrap_or(0.0);
            out.gauge(
                "passwright_outbox_oldest_pending_seconds",
                "Age of the oldest pending job (due, or waiting for its retry); 0 when none.",
                age,
            );
        }
        Err(e) => tracing::error!(error = ?e, "metrics: reading the outbox failed"),
    }
    match state.store.count_rows("device_logs").await {
        Ok(n) => out.gauge(
            "passwright_device_logs",
            "Log entries Wallet devices posted that are kept for operators.",
            n as f64,
        ),
        Err(e) => tracing::error!(error = ?e, "metrics: counting device logs failed"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out.0)
}

fn google_metrics(out: &mut Text, google: &crate::cards::google::GoogleCards) {
    let c = &google.counters;
    out.metric(
        "counter",
        "passwright_google_messages_total",
        "Google Wallet messages by how they went out: notify (TEXT_AND_NOTIFY), or silent \
         because the card had its notifications for the day.",
        &[
            (
                "{sent=\"notify\"}",
                c.notified.load(Ordering::Relaxed) as f64,
            ),
            (
                "{sent=\"silent_over_quota\"}",
                c.over_quota.load(Ordering::Relaxed) as f64,
            ),
        ],
    );
    if let Some(api) = google.api() {
        let s = api.stats();
        out.metric(
            "counter",
            "passwright_google_api_calls_total",
            "Calls to Google's walletobjects API by outcome.",
            &[
                ("{outcome=\"done\"}", s.done as f64),
                ("{outcome=\"retry\"}", s.retry as f64),
                ("{outcome=\"failed\"}", s.failed as f64),
                ("{outcome=\"quota_exceeded\"}", s.quota_exceeded as f64),
            ],
        );
        out.counter(
            "passwright_google_token_refreshes_total",
            "OAuth access tokens fetched for Google's API.",
            s.token_refreshes,
        );
    }
}
