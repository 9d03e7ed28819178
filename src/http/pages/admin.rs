//! `/admin`: the marketers' dashboard. Signs in with a key, picks a program, a period and
//! filters, and shows the report figures, a CSV download and the report charts, which the
//! reports API renders as SVG.

use actix_web::{web, HttpResponse};

const HTML: &str = include_str!("../../../assets/admin.html");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(admin));
}

async fn admin() -> HttpResponse {
    super::page(HTML)
}
