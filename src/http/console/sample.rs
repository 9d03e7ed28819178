//! The designer's samples of the saved design, for a made-up member (Alex Sample, 120
//! points): `GET /console/programs/{id}/sample.pkpass` downloads one, and `POST
//! /console/programs/{id}/sample` sends one by email or SMS to the address typed (the
//! person's own phone), through the outbox. The message carries a signed link to
//! `/sample/{token}` that works for a week (`http::landing::sample`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use time::Duration;

use super::design_form::DesignForm;
use super::designer::{designable, page, SampleSaid};
use super::html::see_other;
use super::page::SignedIn;
use super::ConsoleError;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::import::mapped::phone_in;
use crate::domain::job::Job;
use crate::state::AppState;
use crate::storage::AuditEntry;
use crate::wallet::apple::pass_json::translatable;

/// How long a sample link works.
const SAMPLE_LINK_LIFE: Duration = Duration::days(7);

/// A sample card to download
///
/// Owners and marketers: a signed `.pkpass` of the saved design for a sample member (Alex
/// Sample, 120 points), to open on an iPhone or check with any pass tool. The sample is stored
/// nowhere and gets no updates.
#[utoipa::path(
    get,
    path = "/console/programs/{id}/sample.pkpass",
    operation_id = "getConsoleSamplePass",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The program's id (`prg_…`).")),
    responses(
        (status = 200, description = "The signed pass.", body = Vec<u8>, content_type = "application/vnd.apple.pkpass"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot design cards.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
    )
)]
pub async fn download(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let program = designable(&state, &who, &id).await?;
    let pass = state
        .cards
        .sample_pass(&state.store, &program, state.random.as_ref())
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.apple.pkpass")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"sample-{}\"", pass.file_name),
        ))
        .body(pass.bytes))
}

#[derive(Deserialize)]
pub struct SampleForm {
    #[serde(default)]
    csrf: String,
    /// The form's one-time value: a double tap sends once.
    #[serde(default)]
    nonce: String,
    /// An email address or a mobile number (`+` and the country code).
    #[serde(default)]
    to: String,
}

/// Where a sample goes, read from what was typed.
#[derive(Debug, PartialEq, Eq)]
enum Recipient {
    Email(EmailAddress),
    Sms(PhoneNumber),
}

/// `typed` as an email address (it has an `@`) or a mobile number, or what is wrong with it
/// in words.
fn recipient(typed: &str) -> Result<Recipient, &'static str> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err("Type the email address or the mobile number to send the sample to.");
    }
    if typed.contains('@') {
        return EmailAddress::parse(typed)
            .map(Recipient::Email)
            .map_err(|_| "That is not an email address: check it and try again.");
    }
    PhoneNumber::parse(&phone_in(typed, None)).map(Recipient::Sms).map_err(|_| {
        "Type a mobile number with + and the country code (for example +44 7700 900123), or an email address."
    })
}

/// Send a sample card to a phone
///
/// Owners and marketers: a sample of the saved design (Alex Sample, 120 points) by email or
/// SMS to the address typed, through the outbox; the message links to a page that adds the
/// sample to Apple Wallet or Google Wallet and works for a week. The form's one-time `nonce`
/// makes sending it twice send once. No consent is asked: it goes to the person's own
/// address, never to a member. The sending is in the audit log.
#[utoipa::path(
    post,
    path = "/console/programs/{id}/sample",
    operation_id = "postConsoleSampleSend",
    tag = "console",
    security(("consoleSession" = [])),
    params(("id" = String, Path, description = "The program's id (`prg_…`).")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `nonce`, `to` (an email address, or a mobile number with `+` and the country code).", content = String),
    responses(
        (status = 303, description = "Queued: back to the designer, which says so."),
        (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
        (status = 403, description = "Staff and viewers cannot design cards, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program.", body = String, content_type = "text/html"),
        (status = 422, description = "Not an email address or a mobile number: the designer again, saying so, with the address as typed.", body = String, content_type = "text/html"),
    )
)]
pub async fn send(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<SampleForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(&form.csrf)?;
    let program = designable(&state, &who, &id).await?;
    let nonce = form.nonce.trim();
    if nonce.is_empty() || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConsoleError::StaleForm);
    }
    let (channel, to) = match recipient(&form.to) {
        Ok(Recipient::Email(e)) => ("email", e.as_str().to_owned()),
        Ok(Recipient::Sms(p)) => ("sms", p.as_str().to_owned()),
        Err(why) => {
            let design = DesignForm::of(&program, &translatable(&program));
            let said = SampleSaid {
                to: Some(&form.to),
                error: Some(why),
            };
            return page(
                &state,
                &who,
                &program,
                &design,
                &[],
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                said,
            )
            .await;
        }
    };
    let now = state.clock.now();
    let job = Job::SampleCard {
        program_id: program.id.to_string(),
        channel: channel.to_owned(),
        to: to.clone(),
        expires: (now + SAMPLE_LINK_LIFE).unix_timestamp(),
        nonce: nonce.to_owned(),
        sent_by: who.user.name.clone(),
    };
    if state.store.enqueue_job(&job, now, now).await? {
        let audit = AuditEntry {
            actor: &who.user.actor(),
            action: "program.sample_sent",
            program_id: Some(&program.id),
            subject: Some(&format!("program:{}", program.id)),
            before: None,
            after: Some(json!({ "channel": channel, "to": to }).to_string()),
        };
        state.store.audit(&audit, now).await?;
    }
    Ok(see_other(&format!(
        "/console/programs/{}?notice=sample_{channel}",
        program.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_an_email_or_a_mobile_number_or_words_saying_what_is_wrong() {
        assert_eq!(
            recipient(" mia@beans.example "),
            Ok(Recipient::Email(
                EmailAddress::parse("mia@beans.example").unwrap()
            ))
        );
        assert_eq!(
            recipient("+44 7700 900123"),
            Ok(Recipient::Sms(PhoneNumber::parse("+447700900123").unwrap()))
        );
        assert_eq!(
            recipient("0044 7700 900123"),
            Ok(Recipient::Sms(PhoneNumber::parse("+447700900123").unwrap()))
        );
        assert!(recipient("").unwrap_err().contains("Type the email"));
        assert!(recipient("mia@").unwrap_err().contains("not an email"));
        assert!(recipient("07700 900123")
            .unwrap_err()
            .contains("country code"));
    }
}
