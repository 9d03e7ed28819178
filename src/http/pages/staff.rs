//! `/staff`: the scanner page staff use at the till on a phone. Signs in with a staff key,
//! scans a card's QR code with the camera (or takes the code typed in), shows the member and
//! records visits, purchases and redemptions through `POST /api/v1/scans`.

use actix_web::{web, HttpResponse};

const HTML: &str = include_str!("../../../assets/staff.html");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/staff", web::get().to(staff));
}

async fn staff() -> HttpResponse {
    super::page(HTML)
}
