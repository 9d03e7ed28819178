//! What happened through links: an enrollment from a landing page (the member, their consent,
//! the `enrolled` event and their own card link, all at once) and the events of a link.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::clock::from_micros;
use crate::domain::distribution::{ConsentSource, LinkCode, LinkKind, Platform};
use crate::domain::ids::MemberId;
use crate::domain::member::Member;
use crate::storage::distribution::links::insert_link_event;
use crate::storage::loyalty::members::insert_member_in;
use crate::storage::{LinkAction, LinkRecord, NewLink, Store, StoreError};

/// One thing a visitor did with a link.
#[derive(Debug, Clone)]
pub struct LinkEventRecord {
    pub action: String,
    pub platform: String,
    pub member_id: Option<MemberId>,
    pub created_at: OffsetDateTime,
}

#[derive(FromRow)]
struct EventRow {
    action: String,
    platform: String,
    member_id: Option<String>,
    created_at: i64,
}

impl Store {
    /// Enrolls `member` through the enrollment link `link` in one transaction: the member and
    /// the consent they gave on the form (source `landing_page`), the `enrolled` event (which
    /// attributes them to the link's campaign), and their personal card link with the same
    /// campaign and channel. Returns the card link.
    #[tracing::instrument(name = "store.enroll_through_link", skip_all)]
    pub async fn enroll_through_link(
        &self,
        link: &LinkRecord,
        member: &Member,
        platform: Platform,
        now: OffsetDateTime,
    ) -> Result<LinkRecord, StoreError> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        insert_member_in(&mut tx, member, ConsentSource::LandingPage).await?;
        insert_link_event(
            &mut tx,
            link,
            LinkAction::Enrolled,
            platform,
            Some(&member.id),
            now,
        )
        .await?;
        let card = NewLink {
            program_id: member.program_id.clone(),
            kind: LinkKind::Card,
            member_id: Some(member.id.clone()),
            campaign_id: link.campaign_id.clone(),
            channel: link.channel,
            label: None,
        };
        let code = self.link_in(&mut tx, &card, now).await?;
        tx.commit().await?;
        writer.finish().await?;
        self.link(&code).await
    }

    /// The events of a link, oldest first.
    pub async fn link_events(&self, code: &LinkCode) -> Result<Vec<LinkEventRecord>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT action, platform, member_id, created_at FROM link_events \
             WHERE link_code = $1 ORDER BY id",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| LinkEventRecord {
                action: r.action,
                platform: r.platform,
                member_id: r.member_id.map(MemberId::from_trusted),
                created_at: from_micros(r.created_at),
            })
            .collect())
    }
}
