//! What keeps installed cards current: Apple device registrations and device logs, Google objects
//! and callbacks, the change clock behind `lastUpdated` tags, the fan-out of a change to its
//! deliveries, and card install and remove events.
//!
//! The `Store` methods of this area, by file:
//! - `apple`: `register_device`, `apple_devices`, `unregister_device`, `drop_push_token`, `serials_updated_since`,
//!   `add_device_logs`, `device_logs`, `purge_device_logs`
//! - `google`: `issue_google_object`, `google_object`, `record_google_push`,
//!   `google_notifications_since`, `add_google_notification`, `record_google_callback`,
//!   `purge_google_notifications`
//! - `changes`: helpers the others use in their transactions
//! - `fan_out`: `fan_out_cards`, `fan_out_program`, `push_targets`, `renew_lease`, `finish_pushes`
//! - `card_events`: `card_events`

pub(in crate::storage) mod apple;
pub(in crate::storage) mod card_events;
pub(in crate::storage) mod changes;
pub(in crate::storage) mod fan_out;
pub(in crate::storage) mod google;
