//! The card designer: a program's name, colours, fields, barcode, back, languages and images
//! in one page, with a live preview drawn from the very pass.json and Google class and object
//! that passwright signs (`preview` renders them from the form as it stands), and a save
//! that says how many cards on phones it will change; the samples (a `.pkpass` to download,
//! one sent to a phone) are `sample`'s. Owners and marketers; a person limited to one program
//! sees that one only.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::design_form::{contrast_warnings, DesignForm, Problem, LANGUAGES, PLACES};
use super::html::{render, see_other};
use super::page::SignedIn;
use super::ConsoleError;
use crate::cards::sample_member;
use crate::domain::ids::{random_base32, ProgramId};
use crate::domain::program::{Design, Program};
use crate::state::AppState;
use crate::storage::AuditEntry;
use crate::wallet::apple::pass_json::{self, translatable, PassContext};
use crate::wallet::artwork;
use crate::wallet::google::class::loyalty_class;
use crate::wallet::google::ids::{GoogleContext, IssuerId};
use crate::wallet::google::object::loyalty_object;

/// The form as sent: its pairs in order (the order of the fields is the card's).
pub type Pairs = Vec<(String, String)>;

fn require_designer(who: &SignedIn) -> Result<(), ConsoleError> {
    if who.can_design() {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "Only owners and marketers can change how cards look.",
        ))
    }
}

/// The program, if the person may design it.
pub(super) async fn designable(
    state: &AppState,
    who: &SignedIn,
    id: &str,
) -> Result<Program, ConsoleError> {
    require_designer(who)?;
    let id = ProgramId::parse(id).map_err(|_| ConsoleError::NotFound)?;
    if !who.user.can_access(&id) {
        return Err(ConsoleError::NotFound);
    }
    Ok(state.store.program(&id).await?)
}

/// The value of the first field called `name` in a sent form ("" when there is none).
pub(super) fn value<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The "send a sample to my phone" form as sent, with what was wrong with it.
#[derive(Default)]
pub(super) struct SampleSaid<'a> {
    /// The address as typed (the person's own email when `None`).
    pub to: Option<&'a str>,
    pub error: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct DesignerQuery {
    notice: Option<String>,
}

/// The designer page with `form` (as saved, or as sent with its `problems`) and the sample
/// form as `sample` says.
#[allow(clippy::too_many_arguments)]
pub(super) async fn page(
    state: &AppState,
    who: &SignedIn,
    program: &Program,
    form: &DesignForm,
    problems: &[Problem],
    notice: Option<&str>,
    status: StatusCode,
    sample: SampleSaid<'_>,
) -> Result<HttpResponse, ConsoleError> {
    let (apple, google) = state.store.installed_cards(&program.id).await?;
    let slots = state.store.images(&program.id).await?;
    let uploaded: Vec<&str> = artwork_kinds()
        .filter(|k| slots.iter().any(|s| s.name.starts_with(k)))
        .collect();
    let mut context = who.context("programs");
    context["notice"] = json!(notice);
    context["program"] = json!({
        "id": program.id.as_str(),
        "name": program.name,
        "version": program.design_version,
    });
    context["form"] = json!(form);
    context["problems"] = json!(problems);
    context["places"] = json!(PLACES
        .iter()
        .map(|(key, words)| json!({"key": key, "words": words}))
        .collect::<Vec<_>>());
    context["languages"] = json!(LANGUAGES
        .iter()
        .map(|(tag, name)| json!({"tag": tag, "name": name}))
        .collect::<Vec<_>>());
    context["installed"] = json!({ "apple": apple, "google": google, "total": apple + google });
    context["uploaded"] = json!(uploaded);
    context["sample"] = json!({
        "to": sample.to.unwrap_or(&who.user.email),
        "error": sample.error,
        "nonce": random_base32(state.random.as_ref(), 20),
    });
    context["warnings"] = json!(form
        .parse()
        .map(|(_, _, d)| contrast_warnings(&d))
        .unwrap_or_default());
    Ok(render(status, "console/designer.html", &context))
}

fn artwork_kinds() -> impl Iterator<Item = &'static str> {
    ["logo", "icon", "strip"].into_iter()
}

/// The card designer
///
/// Owners and marketers: the program's name and brand, colours (with a warning below WCAG's
/// 4.5:1 contrast), where each member field goes and what it is called, the lock-screen
/// messages, the barcode, terms and other texts and links on the back, languages and their
/// translations, and the images (one upload each for the logo, the icon and the strip). A
/// live preview shows the Apple card front and back and the Google card as they would be
/// signed. Saving says how many cards on phones it updates.
#[utoipa::path(
    get,
    path = "/console/programs/{id}",
    operation_id = "getConsoleDesigner",
    tag = "console",
    security(("consoleSession" = [])),
    params(
        ("id" = String, Path, description = "The program's id (`prg_…`)."),
        ("notice" = Option<String>, Query, description = "`saved`, `created`, `sample_email` or `sample_sms`: says so at the top."),
    ),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot design cards.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program (or not one of the person's).", body = String, content_type = "text/html"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    query: web::Query<DesignerQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let program = designable(&state, &who, &id).await?;
    let form = DesignForm::of(&program, &translatable(&program));
    let notice = match query.notice.as_deref() {
        Some("saved") => Some("Saved. Cards on phones update within a minute."),
        Some("created") => Some("The program is ready. Design its card, then save."),
        Some("sample_email") => Some("A sample card is on its way by email."),
        Some("sample_sms") => Some("A sample card is on its way by SMS."),
        _ => None,
    };
    page(
        &state,
        &who,
        &program,
        &form,
        &[],
        notice,
        StatusCode::OK,
        SampleSaid::default(),
    )
    .await
}

/// Save a card design
///
/// Owners and marketers: the designer's form. Saved as one change (bumping the design
/// version), in the audit log with the design before and after; every card on a phone is then
/// updated through the outbox. Problems answer the form again, saying what, with everything
/// as typed.
#[utoipa::path(
    post,
    path = "/console/programs/{id}",
    operation_id = "postConsoleDesigner",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The program's id (`prg_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The designer's form: `csrf`, `name`, `organization`, `logo_text`, `description`, `background`, `foreground`, `label_color` (`#rrggbb`), `place.<field>` (`header`, `primary`, `secondary`, `auxiliary`, `back` or `hidden`, in the card's order), `label.<field>`, `message.<field>`, `barcode` (`qr`, `pdf417`, `aztec`), `terms`, `back_key.<n>`, `back_label.<n>`, `back_value.<n>`, `main_language`, `language` (repeated), `tr_source.<n>`, `tr.<language>.<n>`, `notify_balance_changes`.", content = String),
    responses(
        (status = 303, description = "Saved: back to the designer."),
        (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
        (status = 403, description = "Staff and viewers cannot design cards, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
        (status = 422, description = "Something in the form cannot work (the form again, saying what).", body = String, content_type = "text/html"),
    )
)]
pub async fn save(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(value(&form, "csrf"))?;
    let program = designable(&state, &who, &id).await?;
    let sent = DesignForm::sent(&form);
    let (name, organization, design) = match sent.parse() {
        Ok(parsed) => parsed,
        Err(problems) => {
            return page(
                &state,
                &who,
                &program,
                &sent,
                &problems,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                SampleSaid::default(),
            )
            .await
        }
    };
    let before = json!({
        "name": program.name,
        "organization": program.organization,
        "design": program.design,
    });
    let mut changed = program.clone();
    changed.name = name;
    changed.organization = organization;
    changed.design = design;
    let now = state.clock.now();
    let saved = state.store.update_program(&changed, now).await?;
    let audit = AuditEntry {
        actor: &who.user.actor(),
        action: "program.design_saved",
        program_id: Some(&saved.id),
        subject: Some(&format!("program:{}", saved.id)),
        before: Some(before.to_string()),
        after: Some(
            json!({
                "name": saved.name,
                "organization": saved.organization,
                "design": saved.design,
            })
            .to_string(),
        ),
    };
    state.store.audit(&audit, now).await?;
    Ok(see_other(&format!(
        "/console/programs/{}?notice=saved",
        saved.id
    )))
}

/// What the designer's preview shows
///
/// Owners and marketers: the designer's form as it stands, rendered by the code that signs
/// cards: the Apple `pass.json` and the Google loyalty class and object of a sample member
/// (Alex Sample, 120 points), the images (uploaded, or drawn in the form's colours), contrast
/// warnings, and any problem that would stop a save. Nothing is saved.
#[utoipa::path(
    post,
    path = "/console/programs/{id}/preview",
    operation_id = "postConsoleDesignPreview",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The program's id (`prg_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The designer's form, as for saving.", content = String),
    responses(
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 200, description = "`pass` (pass.json), `google_class`, `google_object`, `images` (`logo`, `icon`, `strip`, `google_logo`, `google_hero`: URLs), `warnings`, `problems` (`field`, `message`); `pass` and the Google resources are `null` while there are problems.", body = Object, content_type = "application/json"),
        (status = 403, description = "Staff and viewers cannot design cards, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
    )
)]
pub async fn preview(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(value(&form, "csrf"))?;
    let program = designable(&state, &who, &id).await?;
    let sent = DesignForm::sent(&form);
    let body = match sent.parse() {
        Ok((name, organization, design)) => {
            let mut candidate = program.clone();
            candidate.name = name;
            candidate.organization = organization;
            candidate.design = design;
            rendered(&state, &program, &candidate).await?
        }
        Err(problems) => json!({
            "pass": null, "google_class": null, "google_object": null,
            "images": null, "warnings": [], "problems": problems,
        }),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// The candidate design rendered as it would be signed, for a sample member.
async fn rendered(
    state: &AppState,
    saved: &Program,
    candidate: &Program,
) -> Result<Value, ConsoleError> {
    let member = sample_member(candidate, state.random.as_ref(), state.clock.now());
    let token = state.cards.card_token(&member);
    let pass = pass_json::pass(
        candidate,
        &member,
        &PassContext {
            web_service_url: state.cards.web_service_url(),
            barcode_message: &token,
        },
    );
    // Without Google Wallet set up, the preview still shows the Google card, under a
    // stand-in issuer id.
    let (class, object) = match state.google.as_ref() {
        Some(google) => (
            google.loyalty_class(candidate),
            google.loyalty_object(&state.cards, candidate, &member),
        ),
        None => {
            let issuer =
                IssuerId::parse("3388000000000000000").map_err(|e| anyhow::anyhow!("{e}"))?;
            let ctx = GoogleContext::new(issuer, state.cards.urls().base(), None);
            (
                loyalty_class(candidate, &ctx),
                loyalty_object(candidate, &member, &token, &ctx),
            )
        }
    };
    let images = images(state, saved, &candidate.design, &candidate.organization).await?;
    Ok(json!({
        "pass": pass,
        "google_class": class,
        "google_object": object,
        "images": images,
        "warnings": contrast_warnings(&candidate.design),
        "problems": [],
    }))
}

/// The preview's images: uploaded ones by URL (with the design version, so a new upload
/// shows at once), the others drawn in the candidate's colours.
async fn images(
    state: &AppState,
    saved: &Program,
    design: &Design,
    brand: &str,
) -> Result<Value, ConsoleError> {
    let stored: Vec<String> = state
        .store
        .images(&saved.id)
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect();
    let (colors, brand, name_in_logo) = (
        design.colors.clone(),
        brand.to_owned(),
        design.logo_text.is_none(),
    );
    let drawn = tokio::task::spawn_blocking(move || artwork::drawn(&colors, &brand, name_in_logo))
        .await
        .map_err(|e| anyhow::anyhow!("drawing failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("drawing failed: {e}"))?;
    let mut out = serde_json::Map::new();
    for (key, file, kind_file) in [
        ("logo", "logo@2x.png", "logo@2x.png"),
        ("icon", "icon@3x.png", "icon@3x.png"),
        ("strip", "strip@2x.png", "strip@2x.png"),
        ("google_logo", artwork::GOOGLE_LOGO, "icon@3x.png"),
        ("google_hero", artwork::GOOGLE_HERO, "strip@3x.png"),
    ] {
        let url = if stored.iter().any(|s| s == kind_file) {
            format!("/images/{}/{file}?v={}", saved.id, saved.design_version)
        } else {
            let png = drawn
                .iter()
                .find(|(n, _)| n == file)
                .map(|(_, b)| b.as_slice())
                .unwrap_or_default();
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            )
        };
        out.insert(key.to_owned(), Value::String(url));
    }
    Ok(Value::Object(out))
}
