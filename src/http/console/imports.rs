//! Importing members from the console: upload a CSV (any columns, comma, semicolon or tab),
//! map its columns with the first rows in view, check it (every problem row listed, and
//! downloadable with the row as it was, to fix and upload again), then import the good rows
//! with a progress bar. Rows that are members already (same email, phone or member number)
//! are left out, so the same file uploaded twice creates nobody twice. Owners and marketers.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::audit::cell;
use super::designer::{designable, value, Pairs};
use super::html::{render, see_other};
use super::page::SignedIn;
use super::ConsoleError;
use crate::domain::ids::ImportId;
use crate::domain::import::mapped::{check, read_table, Checked, Mapping, Table, Target};
use crate::domain::program::Program;
use crate::state::AppState;
use crate::storage::{problem_rows, AuditEntry, ImportFile, ImportStatus};

/// Members written per transaction; the progress bar moves this far at a time.
const CHUNK: usize = 500;
/// An import that has not moved for this long lost its instance and may be started again.
const STALLED: time::Duration = time::Duration::minutes(2);

/// Calling codes offered for phone numbers written without `+`.
const COUNTRIES: [(&str, &str); 24] = [
    ("49", "Germany (+49)"),
    ("43", "Austria (+43)"),
    ("41", "Switzerland (+41)"),
    ("44", "United Kingdom (+44)"),
    ("353", "Ireland (+353)"),
    ("1", "United States, Canada (+1)"),
    ("33", "France (+33)"),
    ("32", "Belgium (+32)"),
    ("31", "Netherlands (+31)"),
    ("34", "Spain (+34)"),
    ("351", "Portugal (+351)"),
    ("39", "Italy (+39)"),
    ("45", "Denmark (+45)"),
    ("46", "Sweden (+46)"),
    ("47", "Norway (+47)"),
    ("358", "Finland (+358)"),
    ("48", "Poland (+48)"),
    ("420", "Czechia (+420)"),
    ("90", "Türkiye (+90)"),
    ("61", "Australia (+61)"),
    ("64", "New Zealand (+64)"),
    ("55", "Brazil (+55)"),
    ("52", "Mexico (+52)"),
    ("91", "India (+91)"),
];

/// The import, if the person may run its program's imports.
async fn visible(
    state: &AppState,
    who: &SignedIn,
    id: &str,
) -> Result<(ImportFile, Program), ConsoleError> {
    let id = ImportId::parse(id).map_err(|_| ConsoleError::NotFound)?;
    let file = state.store.import_file(&id).await?;
    let program = designable(state, who, file.program_id.as_str()).await?;
    Ok((file, program))
}

fn table_of(file: &ImportFile) -> Result<Table, ConsoleError> {
    read_table(&file.content).map_err(|e| ConsoleError::Unexpected(anyhow::anyhow!("{e}")))
}

/// Upload a members file
///
/// Owners and marketers: the CSV itself as the body (`text/csv`, up to 10 MiB and 100,000
/// rows), sent by the import page's script with the session's `X-CSRF-Token`. Answers the new
/// import's page to go to; nothing is imported yet.
#[utoipa::path(
    post,
    path = "/console/programs/{id}/imports",
    operation_id = "postConsoleImportFile",
    tag = "console",
    security(("consoleSession" = [])),
    params(
        ("id" = String, Path, description = "The program's id (`prg_…`)."),
        ("name" = Option<String>, Query, description = "The file's name, to show."),
    ),
    request_body(content = String, content_type = "text/csv", description = "The CSV file."),
    responses(
        (status = 201, description = "`{\"id\", \"url\"}`: the import's page.", body = Object, content_type = "application/json"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot import, or no `X-CSRF-Token` of this session.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
        (status = 413, description = "The file is over 10 MiB.", body = String, content_type = "text/plain"),
        (status = 422, description = "`{\"error\": {\"message\"}}`: the file cannot be read as CSV, in words.", body = Object, content_type = "application/json"),
    )
)]
pub async fn upload(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let csrf = req
        .headers()
        .get(crate::http::auth::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    who.check_form(csrf)?;
    let program = designable(&state, &who, &id).await?;
    let table = match read_table(&body) {
        Ok(t) => t,
        Err(message) => {
            return Ok(
                HttpResponse::UnprocessableEntity().json(json!({"error": {"message": message}}))
            )
        }
    };
    let now = state.clock.now();
    let name: String = query
        .name
        .as_deref()
        .unwrap_or("members.csv")
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let file = ImportFile {
        id: ImportId::generate(state.random.as_ref()),
        program_id: program.id.clone(),
        created_by: who.user.actor(),
        file_name: name,
        content: body.to_vec(),
        sha256: hex::encode(Sha256::digest(&body)),
        mapping: None,
        status: ImportStatus::Uploaded,
        total_rows: table.rows.len() as i64,
        good_rows: 0,
        done_rows: 0,
        imported: 0,
        problems: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    state.store.add_import_file(&file).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": file.id.as_str(),
        "url": format!("/console/imports/{}", file.id),
    })))
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

/// Import members
///
/// Owners and marketers: the upload form for a CSV of members, and the program's latest
/// imports.
#[utoipa::path(
    get,
    path = "/console/programs/{id}/import",
    operation_id = "getConsoleImport",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The program's id (`prg_…`).")),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot import.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
    )
)]
pub async fn start(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let program = designable(&state, &who, &id).await?;
    let files = state.store.import_files(&program.id).await?;
    let mut context = who.context("members");
    context["program"] = json!({ "id": program.id.as_str(), "name": program.name });
    context["imports"] = json!(files.iter().map(summary).collect::<Vec<_>>());
    Ok(render(StatusCode::OK, "console/import.html", &context))
}

fn summary(f: &ImportFile) -> serde_json::Value {
    json!({
        "id": f.id.as_str(), "file_name": f.file_name, "status": status_words(f.status),
        "total": f.total_rows, "imported": f.imported,
        "at": f.created_at.date().to_string(),
    })
}

fn status_words(s: ImportStatus) -> &'static str {
    match s {
        ImportStatus::Uploaded => "uploaded, columns not chosen yet",
        ImportStatus::Checked => "checked, not imported yet",
        ImportStatus::Running => "importing",
        ImportStatus::Done => "imported",
    }
}

/// An import
///
/// Owners and marketers: after the upload, the columns to map (guessed from their headings)
/// with the first rows; after the check, what can be imported and every problem row; while
/// importing, the progress; at the end, how many were imported and which rows were left out.
#[utoipa::path(
    get,
    path = "/console/imports/{id}",
    operation_id = "getConsoleImportFile",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The import's id (`imp_…`).")),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot import.", body = String, content_type = "text/html"),
        (status = 404, description = "No such import (or not of the person's programs).", body = String, content_type = "text/html"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let (file, program) = visible(&state, &who, &id).await?;
    page(&state, &who, &file, &program, None, &[]).await
}

/// The import's page; `sent`: a mapping sent that cannot work, shown with its `refusals`.
async fn page(
    state: &AppState,
    who: &SignedIn,
    file: &ImportFile,
    program: &Program,
    sent: Option<&Mapping>,
    refusals: &[String],
) -> Result<HttpResponse, ConsoleError> {
    let table = table_of(file)?;
    let mapping = sent
        .cloned()
        .or_else(|| file.mapping.clone())
        .unwrap_or_else(|| Mapping::guessed(&table));
    let earlier = state
        .store
        .import_files(&program.id)
        .await?
        .into_iter()
        .find(|f| f.sha256 == file.sha256 && f.id != file.id && f.created_at < file.created_at)
        .map(|f| f.created_at.date().to_string());
    let stalled =
        file.status == ImportStatus::Running && state.clock.now() - file.updated_at > STALLED;
    let mut context = who.context("members");
    context["program"] = json!({ "id": program.id.as_str(), "name": program.name });
    context["file"] = json!({
        "id": file.id.as_str(), "name": file.file_name, "status": file.status.as_str(),
        "total": file.total_rows, "good": file.good_rows, "done": file.done_rows,
        "imported": file.imported, "problem_count": problem_rows(&file.problems).len(),
        "problems": file.problems.iter().take(100).map(|p| json!({"row": p.row, "field": p.field, "message": p.message})).collect::<Vec<_>>(),
        "stalled": stalled, "earlier": earlier,
    });
    context["columns"] = json!(table
        .headings
        .iter()
        .enumerate()
        .map(|(i, h)| json!({
            "index": i, "heading": h,
            "target": mapping.columns.get(i).copied().unwrap_or(Target::Ignore).key(),
            "samples": table.rows.iter().filter(|r| !r.is_empty()).take(5).map(|r| r.get(i).cloned().unwrap_or_default()).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>());
    context["targets"] = json!(Target::ALL
        .iter()
        .map(|t| json!({"key": t.key(), "words": t.words()}))
        .collect::<Vec<_>>());
    context["countries"] = json!(COUNTRIES
        .iter()
        .map(|(code, name)| json!({"code": code, "name": name}))
        .collect::<Vec<_>>());
    context["country"] = json!(mapping.country);
    context["refusals"] = json!(refusals);
    let status = if refusals.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(status, "console/import_file.html", &context))
}

/// Checks the file against the program as it is now and saves what was found.
async fn checked(
    state: &AppState,
    file: &ImportFile,
    program: &Program,
    mapping: &Mapping,
) -> Result<Checked, ConsoleError> {
    let table = table_of(file)?;
    let existing = state.store.existing_contacts(&program.id).await?;
    let (table, mapping_c, tiers) = (table, mapping.clone(), program.tiers.clone());
    let result = tokio::task::spawn_blocking(move || check(&table, &mapping_c, &tiers, &existing))
        .await
        .map_err(|e| anyhow::anyhow!("checking the file failed: {e}"))?;
    state
        .store
        .set_import_checked(
            &file.id,
            mapping,
            result.good.len() as i64,
            &result.problems,
            state.clock.now(),
        )
        .await?;
    Ok(result)
}

/// Check an import
///
/// Owners and marketers: the columns' meaning (`map.<n>`: `name`, `first_name`, `last_name`,
/// `email`, `phone`, `external_id`, `consent_email`, `consent_sms`, `tier`, `balance` or
/// `ignore`) and the country of phone numbers without `+`. Every row is checked the way an
/// enrollment is, and against the program's members; nothing is imported.
#[utoipa::path(
    post,
    path = "/console/imports/{id}/check",
    operation_id = "postConsoleImportCheck",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The import's id (`imp_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `map.<n>` for each column, `country` (a calling code, or empty).", content = String),
    responses(
        (status = 303, description = "Checked: back to the import's page; not signed in: to the sign-in page."),
        (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
        (status = 403, description = "Staff and viewers cannot import, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such import.", body = String, content_type = "text/html"),
        (status = 409, description = "The import is running or done.", body = String, content_type = "text/html"),
        (status = 422, description = "The mapping cannot work (no name column, a meaning chosen twice): the page again, saying so.", body = String, content_type = "text/html"),
    )
)]
pub async fn check_file(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(value(&form, "csrf"))?;
    let (file, program) = visible(&state, &who, &id).await?;
    if matches!(file.status, ImportStatus::Running | ImportStatus::Done) {
        return Err(ConsoleError::Conflict(
            "This file is imported already, or being imported.",
        ));
    }
    let table = table_of(&file)?;
    let columns = (0..table.headings.len())
        .map(|i| Target::from_key(value(&form, &format!("map.{i}"))).unwrap_or(Target::Ignore))
        .collect();
    let country = value(&form, "country").trim();
    let mapping = Mapping {
        columns,
        country: (!country.is_empty() && country.chars().all(|c| c.is_ascii_digit()))
            .then(|| country.to_string()),
    };
    let refusals = mapping.problems();
    if !refusals.is_empty() {
        return page(&state, &who, &file, &program, Some(&mapping), &refusals).await;
    }
    checked(&state, &file, &program, &mapping).await?;
    Ok(see_other(&format!("/console/imports/{}", file.id)))
}

/// Run an import
///
/// Owners and marketers: checks the file again against the program as it is now (so rows
/// imported meanwhile, or by an earlier upload of the same file, are left out), then imports
/// the good rows in the background, 500 at a time, each member with their opening balance.
/// The import's page shows the progress.
#[utoipa::path(
    post,
    path = "/console/imports/{id}/run",
    operation_id = "postConsoleImportRun",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The import's id (`imp_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`.", content = String),
    responses(
        (status = 303, description = "Started: to the import's page; not signed in: to the sign-in page."),
        (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
        (status = 403, description = "Staff and viewers cannot import, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such import.", body = String, content_type = "text/html"),
        (status = 409, description = "Not checked yet, running already, or done.", body = String, content_type = "text/html"),
    )
)]
pub async fn run(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(value(&form, "csrf"))?;
    let (file, program) = visible(&state, &who, &id).await?;
    let Some(mapping) = file.mapping.clone() else {
        return Err(ConsoleError::Conflict("Check the file first."));
    };
    if file.status == ImportStatus::Done {
        return Err(ConsoleError::Conflict("This file is imported already."));
    }
    let result = checked(&state, &file, &program, &mapping).await?;
    if !state
        .store
        .start_import(&file.id, state.clock.now(), STALLED)
        .await?
    {
        return Err(ConsoleError::Conflict(
            "This file is being imported already.",
        ));
    }
    let actor = who.user.actor();
    let audit = AuditEntry {
        actor: &actor,
        action: "members.imported",
        program_id: Some(&program.id),
        subject: Some(&format!("import:{}", file.id)),
        before: None,
        after: Some(json!({"file": file.file_name, "rows": result.good.len(), "left_out": problem_rows(&result.problems).len()}).to_string()),
    };
    state.store.audit(&audit, state.clock.now()).await?;
    let (state2, id) = (state.clone(), file.id.clone());
    tokio::spawn(async move {
        for chunk in result.good.chunks(CHUNK) {
            let now = state2.clock.now();
            if let Err(e) = state2
                .store
                .import_chunk(&program, &id, chunk, &actor, state2.random.as_ref(), now)
                .await
            {
                tracing::error!(error = ?e, import = %id, "importing members failed; the import can be started again");
                return;
            }
        }
        if let Err(e) = state2.store.finish_import(&id, state2.clock.now()).await {
            tracing::error!(error = ?e, import = %id, "finishing an import failed");
        }
    });
    Ok(see_other(&format!("/console/imports/{}", file.id)))
}

/// An import's progress
///
/// For the progress bar: `status` (`uploaded`, `checked`, `running`, `done`), `done` (rows
/// written so far), `good` (rows to write), `imported`.
#[utoipa::path(
    get,
    path = "/console/imports/{id}/progress",
    operation_id = "getConsoleImportProgress",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The import's id (`imp_…`).")),
    responses(
        (status = 200, description = "The progress.", body = Object, content_type = "application/json"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot import.", body = String, content_type = "text/html"),
        (status = 404, description = "No such import.", body = String, content_type = "text/html"),
    )
)]
pub async fn progress(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let (file, _) = visible(&state, &who, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "status": file.status.as_str(),
            "done": file.done_rows, "good": file.good_rows, "imported": file.imported,
        })))
}

/// An import's problem rows
///
/// CSV: `row`, `problems`, then the row as it was in the file, to fix and upload again
/// (cells a spreadsheet would read as formulas start with `'`).
#[utoipa::path(
    get,
    path = "/console/imports/{id}/problems.csv",
    operation_id = "getConsoleImportProblems",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The import's id (`imp_…`).")),
    responses(
        (status = 200, description = "The CSV.", body = String, content_type = "text/csv"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot import.", body = String, content_type = "text/html"),
        (status = 404, description = "No such import.", body = String, content_type = "text/html"),
    )
)]
pub async fn problems(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let (file, _) = visible(&state, &who, &id).await?;
    let table = table_of(&file)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut heading = vec!["row".to_string(), "problems".to_string()];
    heading.extend(table.headings.iter().map(|h| cell(h)));
    out.write_record(&heading)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rows: Vec<usize> = problem_rows(&file.problems).into_iter().collect();
    rows.sort_unstable();
    for row in rows {
        let words: Vec<String> = file
            .problems
            .iter()
            .filter(|p| p.row == row)
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        let mut record = vec![row.to_string(), cell(&words.join(" "))];
        if let Some(cells) = table.rows.get(row - 2) {
            record.extend(cells.iter().map(|c| cell(c)));
        }
        out.write_record(&record)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"import-problems.csv\"",
        ))
        .body(bytes))
}
