//! Programs and their rewards, members, the points ledger, points expiry and member imports.
//!
//! The `Store` methods of this area, by file:
//! - `programs`: `insert_program`, `set_expiry`, `programs_with_expiry`, `program_at`, `program`,
//!   `programs`, `update_program`, `set_tiers`, `replace_images`, `images`
//! - `rewards`: `insert_reward`, `rewards`, `reward`, `update_reward`
//! - `members`: `insert_member`, `member`, `member_and_program`, `update_member_profile`,
//!   `change_card`
//! - `member_list`: `members` (paging, filters, search and sorting)
//! - `member_tier`: `set_member_tier` (a tier set by hand, or handed back to the points)
//! - `member_search`: `index_members_for_search` (the keys a search looks up)
//! - `ledger`: `apply_points`, `ledger`, `ledger_entry`, `ledger_sum`
//! - `expiry`: `expiry_candidates`, `movements`, `set_expiring`
//! - `imports`: `import_members`

pub(in crate::storage) mod expiry;
pub(in crate::storage) mod import_files;
pub(in crate::storage) mod imports;
pub(in crate::storage) mod ledger;
pub(in crate::storage) mod member_list;
pub(in crate::storage) mod member_search;
pub(in crate::storage) mod member_tier;
pub(in crate::storage) mod members;
pub(in crate::storage) mod programs;
pub(in crate::storage) mod rewards;
