//! Running the service: the outbox table, webhook endpoints and deliveries, API keys, console
//! users and their sessions, the audit log and the report figures.
//!
//! The `Store` methods of this area, by file:
//! - `outbox`: `enqueue_job`, `claim_jobs`, `finish_jobs`, `reclaim_expired`, `outbox_stats`,
//!   `jobs_in_state`, `retry_failed_job`, `purge_done_jobs`
//! - `webhooks`: `insert_webhook`, `webhooks`, `webhook`, `update_webhook`, `disable_webhook`,
//!   `delete_webhook`, `emit_event`, `webhook_event`, `webhook_deliveries`,
//!   `purge_webhook_events`
//! - `api_keys`: `insert_api_key`, `api_key_by_hash`, `api_keys`, `revoke_api_key`, `api_key`
//! - `reports`: `report_counts`, `reward_redemptions`
//! - `users`: `insert_user`, `add_user_link`, `user`, `user_by_email`, `users`, `has_users`,
//!   `set_user_disabled`, `insert_session`, `session`, `touch_session`, `end_sessions`,
//!   `open_sessions`, `user_link`, `use_user_link`, `record_sign_in_failure`,
//!   `sign_in_failures`, `purge_console`
//! - `audit`: `audit`, `audit_log` (and the entry each write above records with its change)

pub(in crate::storage) mod api_keys;
pub(in crate::storage) mod audit;
pub(in crate::storage) mod outbox;
pub(in crate::storage) mod reports;
pub(in crate::storage) mod users;
pub(in crate::storage) mod webhooks;
