//! Member imports: every checked row enrolled in one transaction, or none. External ids
//! already in the program are reported per row before anything is written.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::campaigns::add_campaign_members;
use super::members::insert_member_in;
use super::{Store, StoreError};
use crate::clock::Random;
use crate::domain::distribution::ConsentSource;
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::import::{ImportRow, RowError};
use crate::domain::member::Member;
use crate::domain::program::Program;

impl Store {
    /// Enrolls every row in `program`, all or nothing; with `campaign`, the new members are
    /// also added to its list audience. `on_row` is told how many rows were written.
    pub async fn import_members(
        &self,
        program: &Program,
        rows: Vec<ImportRow>,
        campaign: Option<&CampaignId>,
        rng: &dyn Random,
        now: OffsetDateTime,
        on_row: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Result<Vec<MemberId>, Vec<RowError>>, StoreError> {
        let taken: HashSet<String> = sqlx::query_scalar::<_, String>(
            "SELECT external_id FROM members WHERE program_id = $1 AND external_id IS NOT NULL",
        )
        .bind(program.id.as_str())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        let clashes: Vec<RowError> = rows
            .iter()
            .filter_map(|r| {
                let ext = r.member.external_id.as_ref()?;
                taken.contains(ext).then(|| RowError {
                    row: r.row,
                    field: "external_id".into(),
                    message: format!("a member with external id {ext:?} already exists"),
                })
            })
            .collect();
        if !clashes.is_empty() {
            return Ok(Err(clashes));
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(rows.len());
        for (i, r) in rows.into_iter().enumerate() {
            let member = Member::enroll(program, r.member, rng, now);
            insert_member_in(&mut tx, &member, ConsentSource::Import).await?;
            ids.push(member.id);
            if i % 100 == 99 {
                on_row(i + 1);
            }
        }
        if let Some(campaign) = campaign {
            add_campaign_members(&mut tx, campaign, &ids).await?;
        }
        tx.commit().await?;
        on_row(ids.len());
        Ok(Ok(ids))
    }
}
