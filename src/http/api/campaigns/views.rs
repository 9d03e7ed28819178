//! The campaign as the API answers it: its progress (messages by status) and its funnel,
//! overall and per channel of its links.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::domain::campaign::{Audience, Automation, Campaign, CampaignStatus};
use crate::domain::distribution::Channel;
use crate::domain::ids::{CampaignId, ProgramId};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::storage::{ChannelFunnel, Funnel, Progress};

/// A campaign as the API answers it, with its progress and funnel.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Campaign)]
pub(in crate::http::api) struct CampaignView {
    // A value, so its keys stay in alphabetical order, as the answer always had them.
    #[schema(value_type = Audience)]
    audience: Value,
    #[schema(required = true)]
    automation: Option<Automation>,
    channel: Channel,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    created_at: String,
    /// The values the template uses.
    #[schema(value_type = Object)]
    data: Value,
    funnel: FunnelView,
    /// The funnel from the campaign's links, per channel.
    #[schema(inline)]
    funnel_by_channel: Vec<ChannelFunnelView>,
    id: CampaignId,
    #[schema(required = true, format = DateTime)]
    last_run_at: Option<String>,
    name: String,
    #[schema(required = true, format = DateTime)]
    next_run_at: Option<String>,
    program_id: ProgramId,
    #[schema(inline)]
    progress: ProgressView,
    #[schema(required = true, format = DateTime)]
    sent_at: Option<String>,
    status: CampaignStatus,
    #[schema(required = true)]
    template: Option<String>,
    /// RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A campaign's messages by status, and why messages were skipped.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
struct ProgressView {
    delivered: i64,
    failed: i64,
    queued: i64,
    skipped: i64,
    /// Skipped messages by reason (`no_consent`, `no_address`, `card_voided`, ...).
    skipped_by_reason: BTreeMap<String, i64>,
}

impl ProgressView {
    fn new(p: Progress) -> ProgressView {
        ProgressView {
            delivered: p.delivered,
            failed: p.failed,
            queued: p.queued,
            skipped: p.skipped,
            skipped_by_reason: p.skipped_by_reason.into_iter().collect(),
        }
    }
}

/// A campaign's funnel. `sent` counts messages handed to the outbox (skipped ones are not
/// sent); `delivered` those the SMTP relay or SMS provider accepted; `clicked` visitors of its
/// links; `enrolled` members who joined through its links; `installed` and `redeemed` members
/// it brought who installed the card, and who redeemed a reward.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = Funnel)]
struct FunnelView {
    clicked: i64,
    delivered: i64,
    enrolled: i64,
    installed: i64,
    redeemed: i64,
    sent: i64,
    skipped: i64,
}

impl FunnelView {
    fn new(f: Funnel) -> FunnelView {
        FunnelView {
            clicked: f.clicked,
            delivered: f.delivered,
            enrolled: f.enrolled,
            installed: f.installed,
            redeemed: f.redeemed,
            sent: f.sent,
            skipped: f.skipped,
        }
    }
}

/// The funnel of one channel of a campaign's links.
#[derive(Serialize, ToSchema)]
struct ChannelFunnelView {
    channel: String,
    clicked: i64,
    enrolled: i64,
    installed: i64,
    redeemed: i64,
}

impl ChannelFunnelView {
    fn new(f: ChannelFunnel) -> ChannelFunnelView {
        ChannelFunnelView {
            channel: f.channel,
            clicked: f.clicked,
            enrolled: f.enrolled,
            installed: f.installed,
            redeemed: f.redeemed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct CampaignList {
    pub(super) campaigns: Vec<CampaignView>,
}

/// The campaign with its progress (messages by status) and its funnel.
pub(in crate::http::api) async fn full_view(
    state: &AppState,
    c: &Campaign,
) -> Result<CampaignView, ApiError> {
    let progress = state.store.campaign_progress(&c.id).await?;
    let funnel = state.store.campaign_funnel(&c.id).await?;
    let channels = state.store.channel_funnels(&c.id).await?;
    Ok(CampaignView {
        audience: serde_json::to_value(&c.audience)
            .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("audience: {e}")))?,
        automation: c.automation,
        channel: c.channel,
        created_at: rfc3339(c.created_at),
        data: c.data.clone(),
        funnel: FunnelView::new(funnel),
        funnel_by_channel: channels.into_iter().map(ChannelFunnelView::new).collect(),
        id: c.id.clone(),
        last_run_at: c.last_run_at.map(rfc3339),
        name: c.name.clone(),
        next_run_at: c.next_run_at.map(rfc3339),
        program_id: c.program_id.clone(),
        progress: ProgressView::new(progress),
        sent_at: c.sent_at.map(rfc3339),
        status: c.status,
        template: c.template.clone(),
        updated_at: rfc3339(c.updated_at),
    })
}
