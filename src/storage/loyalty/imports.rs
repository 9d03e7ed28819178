//! Member imports: every checked row enrolled in one transaction, or none. External ids
//! already in the program are reported per row before anything is written.

use std::collections::HashSet;

use time::OffsetDateTime;

use crate::clock::Random;
use crate::domain::distribution::ConsentSource;
use crate::domain::ids::{CampaignId, MemberId};
use crate::domain::import::{ImportRow, RowError};
use crate::domain::member::Member;
use crate::domain::program::Program;
use crate::storage::distribution::campaigns::add_campaign_members;
use crate::storage::loyalty::members::insert_members_in;
use crate::storage::{Engine, Store, StoreError};

impl Store {
    /// Enrolls every row in `program`, all or nothing; with `campaign`, the new members are
    /// also added to its list audience. `on_row` is told how many rows were written.
    #[tracing::instrument(name = "store.import_members", skip_all)]
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
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let members: Vec<Member> = rows
            .into_iter()
            .map(|r| Member::enroll(program, r.member, rng, now))
            .collect();
        let mut written = 0;
        for chunk in members.chunks(1000) {
            insert_members_in(&mut tx, chunk, ConsentSource::Import).await?;
            written += chunk.len();
            on_row(written);
        }
        let ids: Vec<MemberId> = members.into_iter().map(|m| m.id).collect();
        if let Some(campaign) = campaign {
            add_campaign_members(&mut tx, campaign, &ids).await?;
        }
        tx.commit().await?;
        writer.finish().await?;
        if self.engine == Engine::Postgres {
            // The planner's statistics still describe the program before the import until
            // autovacuum catches up (a minute or more); a campaign sent right after would be
            // planned for a handful of members.
            if let Err(e) = sqlx::query("ANALYZE members").execute(&self.pool).await {
                tracing::warn!(error = %e, "ANALYZE members after the import failed");
            }
        }
        on_row(ids.len());
        Ok(Ok(ids))
    }
}
