//! Members: enroll, list, read, update, void, re-issue the card, and download a member's pass.

use actix_web::{web, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::{load, resource, views, MANAGE, READ};
use crate::domain::ids::MemberId;
use crate::domain::member::{self, EnrollInput, Member, MemberPatchInput, MemberStatus};
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::http::{pass_response, Delivery};
use crate::state::AppState;
use crate::storage::{CardAction, MemberQuery};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/programs/{id}/members")
            .route(web::post().to(enroll))
            .route(web::get().to(list)),
    )
    .service(
        resource("/members/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch)),
    )
    .service(resource("/members/{id}/void").route(
        web::post().to(|state, caller, id| change_card(state, caller, id, CardAction::Void)),
    ))
    .service(resource("/members/{id}/reissue").route(
        web::post().to(|state, caller, id| change_card(state, caller, id, CardAction::Reissue)),
    ))
    .service(resource("/members/{id}/pass").route(web::get().to(pass)));
}

async fn enroll(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<EnrollInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let program = load::program(&state, &caller, &id).await?;
    let new = body.into_inner().validated()?;
    let now = state.clock.now();
    let member = Member::enroll(&program, new, state.random.as_ref(), now);
    state
        .store
        .insert_member(
            &member,
            crate::domain::distribution::ConsentSource::Enrollment,
        )
        .await?;
    tracing::info!(member = %member.id, program = %program.id, "member enrolled");
    Ok(HttpResponse::Created().json(views::member(&member, &program, &state.cards)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    status: Option<String>,
    external_id: Option<String>,
}

fn encode_cursor((at, id): &(i64, String)) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_cursor(s: &str) -> Result<(i64, String), Invalid> {
    let bad = || Invalid::new("cursor", "is not a cursor from a previous page");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once(':').ok_or_else(bad)?;
    let id = MemberId::parse(id).map_err(|_| bad())?;
    Ok((at.parse().map_err(|_| bad())?, id.to_string()))
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let program = load::program(&state, &caller, &id).await?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let query = MemberQuery {
        status: q.status.as_deref().map(MemberStatus::parse).transpose()?,
        external_id: q
            .external_id
            .as_deref()
            .map(member::external_id)
            .transpose()?,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let page = state.store.members(&program.id, &query).await?;
    Ok(HttpResponse::Ok().json(json!({
        "members": page.members.iter().map(|m| views::member(m, &program, &state.cards)).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(encode_cursor),
    })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(views::member(&member, &program, &state.cards)))
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<MemberPatchInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (program, mut member) = load::member(&state, &caller, &id).await?;
    if member.status == MemberStatus::Voided {
        return Err(store_error(
            crate::storage::StoreError::Conflict(crate::storage::Conflict::MemberVoided),
            "member",
        ));
    }
    let changed = body.into_inner().apply(&mut member)?;
    let member = if changed {
        state
            .store
            .update_member_profile(&member, state.clock.now())
            .await
            .map_err(|e| store_error(e, "member"))?
    } else {
        member
    };
    Ok(HttpResponse::Ok().json(views::member(&member, &program, &state.cards)))
}

/// Voids the card (`CardAction::Void`: the pass on the phone shows as void and its barcode
/// stops working) or re-issues it (`CardAction::Reissue`: a barcode shared or a phone lost;
/// new barcode and download link, the old ones refused from now on).
async fn change_card(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    action: CardAction,
) -> Result<HttpResponse, ApiError> {
    caller.require(MANAGE)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let member = state
        .store
        .change_card(&member.id, action, state.clock.now())
        .await
        .map_err(|e| store_error(e, "member"))?;
    tracing::info!(member = %member.id, ?action, generation = member.card_generation, "card changed");
    Ok(HttpResponse::Ok().json(views::member(&member, &program, &state.cards)))
}

/// The member's current `.pkpass`, for integrations that deliver it themselves.
async fn pass(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (program, member) = load::member(&state, &caller, &id).await?;
    let signed = state
        .cards
        .apple_pass(&state.store, &program, &member)
        .await?;
    Ok(pass_response(&req, &signed, Delivery::Attachment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = (1_700_000_000_000_000, "mem_aaaaaaaaaaaaaaaa".to_string());
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c);
        assert!(decode_cursor("garbage!").is_err());
        assert!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1:prg_x"))
                .is_err()
        );
    }
}
