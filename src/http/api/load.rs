//! Loading the program or member a request names, with the caller's scope checked. An id
//! that does not parse is as unknown as one that does not exist.

use std::sync::Arc;

use crate::domain::ids::{MemberId, ProgramId};
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::http::auth::Caller;
use crate::http::error::{store_error, ApiError};
use crate::state::AppState;
use crate::storage::MemberKey;

pub async fn program(state: &AppState, caller: &Caller, id: &str) -> Result<Program, ApiError> {
    let id = ProgramId::parse(id).map_err(|_| ApiError::not_found("program"))?;
    caller.check_program(&id)?;
    state
        .store
        .program(&id)
        .await
        .map_err(|e| store_error(e, "program"))
}

pub async fn member(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Arc<Program>, Member), ApiError> {
    let id = MemberId::parse(id).map_err(|_| ApiError::not_found("member"))?;
    let (member, program) = state
        .store
        .member_and_program(MemberKey::Id(&id))
        .await
        .map_err(|e| store_error(e, "member"))?;
    caller.check_program(&member.program_id)?;
    Ok((program, member))
}

pub async fn campaign(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<crate::domain::campaign::Campaign, ApiError> {
    let id =
        crate::domain::ids::CampaignId::parse(id).map_err(|_| ApiError::not_found("campaign"))?;
    let campaign = state
        .store
        .campaign(&id)
        .await
        .map_err(|e| store_error(e, "campaign"))?;
    caller.check_program(&campaign.program_id)?;
    Ok(campaign)
}
