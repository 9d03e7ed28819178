//! Getting cards to people: links and what happened on them, attribution funnels, campaigns,
//! messages and consent.
//!
//! The `Store` methods of this area, by file:
//! - `links`: `create_link`, `get_or_create_link`, `link`, `links`, `campaign_program`,
//!   `revoke_link`, `record_link_event`
//! - `link_activity`: `enroll_through_link`, `link_events`
//! - `attribution`: `campaign_funnel`, `channel_funnels`, `member_ids_by`
//! - `messages`: `finish_jobs_and_messages`, `queue_message`, `member_messages`, `message`
//! - `campaigns`: `insert_campaign`, `campaign`, `campaigns`, `campaign_progress`,
//!   `set_campaign_members`, `audience_size`, `start_campaign`, `pause_campaign`,
//!   `run_due_automations`, `campaign_batch`
//! - `consent`: `set_consent`, `unsubscribed`, `consent_history`

pub(in crate::storage) mod attribution;
pub(in crate::storage) mod campaigns;
pub(in crate::storage) mod consent;
pub(in crate::storage) mod link_activity;
pub(in crate::storage) mod links;
pub(in crate::storage) mod messages;
