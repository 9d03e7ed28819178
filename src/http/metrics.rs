//! `/metrics` in the Prometheus text format. Counters are per instance; Prometheus sums them.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let c = &state.cards.counters;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    counter(
        "passwright_passes_signed_total",
        "Apple passes signed (cache misses).",
        c.signed.load(Ordering::Relaxed),
    );
    counter(
        "passwright_pass_cache_hits_total",
        "Apple passes served from the in-memory cache without signing.",
        c.cache_hits.load(Ordering::Relaxed),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
