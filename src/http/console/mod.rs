//! `/console`: where people run their programs in a browser. Server-rendered pages (the
//! templates under `templates/console/`) with a little plain JavaScript where a page calls the
//! REST API (the reports), no front-end build.
//!
//! A person signs in with an email and a password (`session`); the session is a cookie
//! (`http::auth::SESSION_COOKIE`: `HttpOnly`, `SameSite=Lax`, `Secure` when the public URL is
//! https) and every form a signed-in person sends carries the session's CSRF token. Pages are
//! for roles: the reports for owners and marketers, people and the audit log for owners.
//! `/` (`home::root`) points to the console, the scanner and the API description.

mod audit;
mod card_link;
mod design_form;
mod designer;
mod error;
mod home;
mod html;
mod imports;
mod links;
mod member_changes;
mod member_export;
mod member_page;
mod members;
mod page;
mod programs;
mod reports;
mod rules;
mod rules_form;
mod sample;
mod session;
mod users;

use actix_web::web;
use utoipa::OpenApi;

pub use error::ConsoleError;
pub use page::SignedIn;

use crate::http::routes::Routes;

/// The console's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(
    home::root,
    home::home,
    session::sign_in_page,
    session::sign_in,
    session::sign_out,
    session::sign_out_everywhere,
    session::forgot_page,
    session::forgot,
    links::invite_page,
    links::accept_invite,
    links::reset_page,
    links::reset,
    users::list,
    users::invite,
    users::disable,
    users::enable,
    users::resend,
    members::list,
    member_page::show,
    programs::new,
    programs::create,
    designer::show,
    designer::save,
    designer::preview,
    sample::download,
    sample::send,
    rules::show,
    rules::earn,
    rules::tiers,
    rules::expiry,
    rules::add_reward,
    rules::change_reward,
    imports::start,
    imports::upload,
    imports::show,
    imports::check_file,
    imports::run,
    imports::progress,
    imports::problems,
    member_changes::adjust,
    member_changes::card,
    member_changes::tier,
    card_link::send,
    member_export::export,
    audit::page,
    audit::export,
    reports::page,
    reports::old_dashboard,
))]
pub struct Document;

/// The console's routes. Other methods answer actix's empty 405, as the other pages do.
pub fn routes() -> Routes {
    let mut routes = Routes::with_other_methods("", None);
    routes
        .add(home::__path_root, home::root)
        .add(home::__path_home, home::home)
        .add(session::__path_sign_in_page, session::sign_in_page)
        .add(session::__path_sign_in, session::sign_in)
        .add(session::__path_sign_out, session::sign_out)
        .add(
            session::__path_sign_out_everywhere,
            session::sign_out_everywhere,
        )
        .add(session::__path_forgot_page, session::forgot_page)
        .add(session::__path_forgot, session::forgot)
        .add(links::__path_invite_page, links::invite_page)
        .add(links::__path_accept_invite, links::accept_invite)
        .add(links::__path_reset_page, links::reset_page)
        .add(links::__path_reset, links::reset)
        .add(users::__path_list, users::list)
        .add(users::__path_invite, users::invite)
        .add(users::__path_disable, users::disable)
        .add(users::__path_enable, users::enable)
        .add(users::__path_resend, users::resend)
        .add(programs::__path_new, programs::new)
        .add(programs::__path_create, programs::create)
        .add(designer::__path_show, designer::show)
        .add(designer::__path_save, designer::save)
        .add(designer::__path_preview, designer::preview)
        .add(sample::__path_download, sample::download)
        .add(sample::__path_send, sample::send)
        .add(rules::__path_show, rules::show)
        .add(rules::__path_earn, rules::earn)
        .add(rules::__path_tiers, rules::tiers)
        .add(rules::__path_expiry, rules::expiry)
        .add(rules::__path_add_reward, rules::add_reward)
        .add(rules::__path_change_reward, rules::change_reward)
        .add(imports::__path_start, imports::start)
        .add(imports::__path_upload, imports::upload)
        .add(imports::__path_show, imports::show)
        .add(imports::__path_check_file, imports::check_file)
        .add(imports::__path_run, imports::run)
        .add(imports::__path_progress, imports::progress)
        .add(imports::__path_problems, imports::problems)
        .add(members::__path_list, members::list)
        .add(member_page::__path_show, member_page::show)
        .add(member_changes::__path_adjust, member_changes::adjust)
        .add(member_changes::__path_card, member_changes::card)
        .add(member_changes::__path_tier, member_changes::tier)
        .add(card_link::__path_send, card_link::send)
        .add(member_export::__path_export, member_export::export)
        .add(audit::__path_page, audit::page)
        .add(audit::__path_export, audit::export)
        .add(reports::__path_page, reports::page)
        .add(reports::__path_old_dashboard, reports::old_dashboard);
    routes
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut routes = routes();
    // A form that cannot be read is a page saying so, not actix's plain-text 400.
    let forms = || {
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|_, _| ConsoleError::BadForm.into())
    };
    // A design with its translations is a longer form.
    let designs = || {
        web::FormConfig::default()
            .limit(256 * 1024)
            .error_handler(|_, _| ConsoleError::BadForm.into())
    };
    routes
        .app_data(session::__path_sign_in, forms())
        .app_data(session::__path_sign_out, forms())
        .app_data(session::__path_sign_out_everywhere, forms())
        .app_data(session::__path_forgot, forms())
        .app_data(links::__path_accept_invite, forms())
        .app_data(links::__path_reset, forms())
        .app_data(users::__path_invite, forms())
        .app_data(users::__path_disable, forms())
        .app_data(users::__path_enable, forms())
        .app_data(users::__path_resend, forms())
        .app_data(programs::__path_create, forms())
        .app_data(designer::__path_save, designs())
        .app_data(designer::__path_preview, designs())
        .app_data(sample::__path_send, forms())
        .app_data(
            imports::__path_upload,
            web::PayloadConfig::new(10 * 1024 * 1024),
        )
        .app_data(imports::__path_check_file, forms())
        .app_data(imports::__path_run, forms())
        .app_data(rules::__path_earn, forms())
        .app_data(rules::__path_tiers, forms())
        .app_data(rules::__path_expiry, forms())
        .app_data(rules::__path_add_reward, forms())
        .app_data(rules::__path_change_reward, forms())
        .app_data(member_changes::__path_adjust, forms())
        .app_data(member_changes::__path_card, forms())
        .app_data(member_changes::__path_tier, forms())
        .app_data(card_link::__path_send, forms());
    routes.register(cfg);
}
