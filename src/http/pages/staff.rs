//! `/staff`: the scanner page staff use at the till on a phone. Signs in with a staff key,
//! scans a card's QR code with the camera (or takes the code typed in), shows the member and
//! records visits, purchases and redemptions through `POST /api/v1/scans`.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use crate::http::routes::Routes;

const HTML: &str = include_str!("../../../assets/staff.html");

/// The page's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(staff))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_staff, staff);
}

/// Staff scanner page
///
/// The scanner staff use at the till, made for a phone: sign in with a staff key (kept in the
/// browser tab's session storage), pick a location, scan a card's QR code with the camera (the
/// browser's `BarcodeDetector`, else the bundled jsQR decoder) or type the code, then record a
/// visit or a purchase or redeem a reward through `POST /api/v1/scans`, each after a
/// confirmation. No key is needed to load the page; every call it makes sends the key.
#[utoipa::path(
    get,
    path = "/staff",
    operation_id = "getStaffPage",
    tag = "pages",
    security(),
    responses(
        (status = 200, description = "The page (HTML). Its scripts and style sheet are under `/assets/`.", body = String, content_type = "text/html", headers(("Content-Security-Policy" = String, description = "Scripts, styles and connections only from this origin; nothing inline."))),
    )
)]
async fn staff() -> HttpResponse {
    super::page(HTML)
}
