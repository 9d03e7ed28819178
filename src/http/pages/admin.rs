//! `/admin`: the marketers' dashboard. Signs in with a key, picks a program, a period and
//! filters, and shows the report figures, a CSV download and the report charts, which the
//! reports API renders as SVG.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use crate::http::routes::Routes;

const HTML: &str = include_str!("../../../assets/admin.html");

/// The page's operation, as documented.
#[derive(OpenApi)]
#[openapi(paths(admin))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_admin, admin);
}

/// Marketer dashboard
///
/// The dashboard for marketers (admin or marketer keys): a program's report per day, week or
/// month, filtered by location and staff key, with the charts from
/// `/api/v1/programs/{id}/reports/charts/{name}.svg` inlined and a CSV download. No key is
/// needed to load the page; every call it makes sends the key.
#[utoipa::path(
    get,
    path = "/admin",
    operation_id = "getAdminPage",
    tag = "pages",
    security(),
    responses(
        (status = 200, description = "The page (HTML). Its scripts and style sheet are under `/assets/`.", body = String, content_type = "text/html", headers(("Content-Security-Policy" = String, description = "Scripts, styles and connections only from this origin; nothing inline."))),
    )
)]
async fn admin() -> HttpResponse {
    super::page(HTML)
}
