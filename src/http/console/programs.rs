//! Starting a program from the console: its two names, then the card designer (`designer`)
//! for everything else. Owners and marketers who are not limited to one program.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::html::{render, see_other};
use super::page::SignedIn;
use super::ConsoleError;
use crate::domain::apple_ids::{PassTypeId, TeamId};
use crate::domain::ids::ProgramId;
use crate::domain::program::Program;
use crate::domain::text;
use crate::state::AppState;
use crate::storage::AuditEntry;

#[derive(Deserialize)]
pub struct NewProgramForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organization: String,
}

fn require_creator(who: &SignedIn) -> Result<(), ConsoleError> {
    if !who.can_design() {
        return Err(ConsoleError::Forbidden(
            "Only owners and marketers can start a program.",
        ));
    }
    if who.user.program_id.is_some() {
        return Err(ConsoleError::Forbidden(
            "Your account is for one program, so it cannot start another. Ask an owner.",
        ));
    }
    Ok(())
}

fn new_page(
    who: &SignedIn,
    name: &str,
    organization: &str,
    problems: &[&str],
    status: StatusCode,
) -> HttpResponse {
    let mut context = who.context("home");
    context["form"] = json!({ "name": name, "organization": organization });
    context["problems"] = json!(problems
        .iter()
        .map(|m| json!({ "message": m }))
        .collect::<Vec<_>>());
    render(status, "console/program_new.html", &context)
}

/// Start a program
///
/// Owners and marketers not limited to one program: the program's name and the brand name
/// its cards show; the card designer comes next.
#[utoipa::path(
    get,
    path = "/console/programs/new",
    operation_id = "getConsoleNewProgram",
    tag = "console",
    security(("consoleSession" = [])),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff, viewers and people limited to one program cannot start programs.", body = String, content_type = "text/html"),
    )
)]
pub async fn new(who: SignedIn) -> Result<HttpResponse, ConsoleError> {
    require_creator(&who)?;
    Ok(new_page(&who, "", "", &[], StatusCode::OK))
}

/// Create a program
///
/// Creates the program with the default design (cards drawn in its colours with its brand
/// name), signed with the configured Pass Type ID certificate, and opens its card designer.
/// In the audit log.
#[utoipa::path(
    post,
    path = "/console/programs",
    operation_id = "postConsoleNewProgram",
    tag = "console",
    security(("consoleSession" = [])),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `name`, `organization`.", content = String),
    responses(
        (status = 303, description = "Created: to its card designer."),
        (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
        (status = 403, description = "Not allowed (as for the page), or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 422, description = "A name is missing or too long (the form again, saying so).", body = String, content_type = "text/html"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<NewProgramForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    require_creator(&who)?;
    let name = text("name", &form.name, 80);
    let organization = text("organization", &form.organization, 80);
    let (Ok(name), Ok(organization)) = (name, organization) else {
        let mut problems = Vec::new();
        if text("name", &form.name, 80).is_err() {
            problems.push("Give the program a name (up to 80 characters).");
        }
        if text("organization", &form.organization, 80).is_err() {
            problems.push("Give the brand name the card shows (up to 80 characters).");
        }
        return Ok(new_page(
            &who,
            &form.name,
            &form.organization,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let signer = state.cards.signer();
    let ids = (
        PassTypeId::parse(signer.pass_type_id()).map_err(|e| anyhow::anyhow!("{e}"))?,
        TeamId::parse(signer.team_id()).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let now = state.clock.now();
    let program = Program::new(
        ProgramId::generate(state.random.as_ref()),
        name,
        organization,
        ids,
        now,
    );
    state.store.insert_program(&program).await?;
    let audit = AuditEntry {
        actor: &who.user.actor(),
        action: "program.created",
        program_id: Some(&program.id),
        subject: Some(&format!("program:{}", program.id)),
        before: None,
        after: Some(
            json!({ "name": program.name, "organization": program.organization }).to_string(),
        ),
    };
    state.store.audit(&audit, now).await?;
    Ok(see_other(&format!(
        "/console/programs/{}?notice=created",
        program.id
    )))
}
