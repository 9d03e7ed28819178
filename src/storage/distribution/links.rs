//! Links: enrollment links (a program's or a campaign's) and personal card links (one
//! member's), what people did with them, and the attribution of a member to the campaign and
//! channel that brought them.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use crate::clock::{from_micros, to_micros};
use crate::domain::distribution::{Channel, LinkCode, LinkKind, Platform};
use crate::domain::ids::{CampaignId, MemberId, ProgramId};
use crate::storage::sql::placeholders;
use crate::storage::{is_unique_violation, Store, StoreError};

/// A link to create.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub program_id: ProgramId,
    pub kind: LinkKind,
    /// Set for card links, and only for them.
    pub member_id: Option<MemberId>,
    pub campaign_id: Option<CampaignId>,
    pub channel: Option<Channel>,
    pub label: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub code: LinkCode,
    pub program_id: ProgramId,
    pub kind: LinkKind,
    pub member_id: Option<MemberId>,
    pub campaign_id: Option<CampaignId>,
    pub channel: Option<Channel>,
    pub label: Option<String>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// Something done with a link, kept for attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Clicked,
    Enrolled,
    AppleDownload,
    GoogleSave,
}

impl LinkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Clicked => "clicked",
            LinkAction::Enrolled => "enrolled",
            LinkAction::AppleDownload => "apple_download",
            LinkAction::GoogleSave => "google_save",
        }
    }
}

#[derive(FromRow)]
struct LinkRow {
    code: String,
    program_id: String,
    kind: String,
    member_id: Option<String>,
    campaign_id: Option<String>,
    channel: Option<String>,
    label: Option<String>,
    revoked_at: Option<i64>,
    created_at: i64,
}

const LINK_COLUMNS: &str =
    "code, program_id, kind, member_id, campaign_id, channel, label, revoked_at, created_at";

impl TryFrom<LinkRow> for LinkRecord {
    type Error = StoreError;

    fn try_from(r: LinkRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::Invalid| anyhow::anyhow!("stored link {}: {e}", r.code);
        Ok(LinkRecord {
            kind: LinkKind::parse(&r.kind).map_err(bad)?,
            channel: r
                .channel
                .as_deref()
                .map(Channel::parse)
                .transpose()
                .map_err(bad)?,
            code: LinkCode::from_trusted(r.code),
            program_id: ProgramId::from_trusted(r.program_id),
            member_id: r.member_id.map(MemberId::from_trusted),
            campaign_id: r.campaign_id.map(CampaignId::from_trusted),
            label: r.label,
            revoked_at: r.revoked_at.map(from_micros),
            created_at: from_micros(r.created_at),
        })
    }
}

impl Store {
    /// Creates a link. A card link is one per member, campaign and channel: asking again
    /// returns the live one.
    #[tracing::instrument(name = "store.create_link", skip_all)]
    pub async fn create_link(
        &self,
        link: &NewLink,
        now: OffsetDateTime,
    ) -> Result<LinkRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let code = self.link_in(&mut conn, link, now).await?;
        self.link_on(&mut conn, &code).await
    }

    /// Like `create_link`, and says whether the link was made now (`true`) or was the
    /// member's live one already.
    #[tracing::instrument(name = "store.get_or_create_link", skip_all)]
    pub async fn get_or_create_link(
        &self,
        link: &NewLink,
        now: OffsetDateTime,
    ) -> Result<(LinkRecord, bool), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let (code, made) = self.link_made_in(&mut conn, link, now).await?;
        Ok((self.link_on(&mut conn, &code).await?, made))
    }

    /// The link's code, created in the caller's transaction when needed (see `create_link`).
    pub(in crate::storage) async fn link_in(
        &self,
        conn: &mut AnyConnection,
        link: &NewLink,
        now: OffsetDateTime,
    ) -> Result<LinkCode, StoreError> {
        Ok(self.link_made_in(conn, link, now).await?.0)
    }

    async fn link_made_in(
        &self,
        conn: &mut AnyConnection,
        link: &NewLink,
        now: OffsetDateTime,
    ) -> Result<(LinkCode, bool), StoreError> {
        if link.kind == LinkKind::Card {
            if let Some(code) = self.live_card_link(conn, link).await? {
                return Ok((code, false));
            }
        }
        // A random code: a collision is all but impossible, but try another if it happens.
        for _ in 0..3 {
            let code = LinkCode::generate(link.kind, &*self.random);
            let inserted = sqlx::query(
                "INSERT INTO links (code, program_id, kind, member_id, campaign_id, channel, \
                 label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(code.as_str())
            .bind(link.program_id.as_str())
            .bind(link.kind.as_str())
            .bind(link.member_id.as_ref().map(|m| m.as_str().to_string()))
            .bind(link.campaign_id.as_ref().map(|c| c.as_str().to_string()))
            .bind(link.channel.map(|c| c.as_str()))
            .bind(link.label.clone())
            .bind(to_micros(now))
            .execute(&mut *conn)
            .await;
            match inserted {
                Ok(_) => return Ok((code, true)),
                Err(e) if is_unique_violation(&e) => {
                    // Another request made the same member's link at the same moment.
                    if let Some(code) = self.live_card_link(conn, link).await? {
                        return Ok((code, false));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(anyhow::anyhow!("could not find a free link code").into())
    }

    /// Personal card links of `members` for one campaign and channel, in the caller's
    /// transaction: each member's live link, or a new one. A campaign batch makes hundreds at
    /// once, so this takes a few statements per hundred members; a member whose new code
    /// collided, or whose link another transaction made meanwhile, is then done alone. The
    /// codes come back in the order of `members`.
    pub(in crate::storage) async fn card_links_in(
        &self,
        conn: &mut AnyConnection,
        program: &ProgramId,
        campaign: &CampaignId,
        channel: Channel,
        members: &[MemberId],
        now: OffsetDateTime,
    ) -> Result<Vec<LinkCode>, StoreError> {
        let mut codes: HashMap<String, LinkCode> = HashMap::new();
        for chunk in members.chunks(100) {
            let sql = format!(
                "SELECT member_id, code FROM links WHERE kind = 'card' AND revoked_at IS NULL \
                 AND campaign_id = $1 AND channel = $2 AND member_id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql)
                .bind(campaign.as_str())
                .bind(channel.as_str());
            for m in chunk {
                q = q.bind(m.as_str());
            }
            let live = q.fetch_all(&mut *conn).await?;
            codes.extend(
                live.into_iter()
                    .map(|(m, c)| (m, LinkCode::from_trusted(c))),
            );
        }
        let missing: Vec<&MemberId> = members
            .iter()
            .filter(|m| !codes.contains_key(m.as_str()))
            .collect();
        for chunk in missing.chunks(100) {
            let fresh: Vec<LinkCode> = chunk
                .iter()
                .map(|_| LinkCode::generate(LinkKind::Card, &*self.random))
                .collect();
            let rows = (0..chunk.len())
                .map(|i| {
                    format!(
                        "({}, $1, 'card', $2, $3, NULL, $4)",
                        placeholders(5 + i * 2, 2)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            // Every row names the columns in this order: code, member_id.
            let sql = format!(
                "INSERT INTO links (code, member_id, program_id, kind, campaign_id, channel, label, \
                 created_at) VALUES {rows} ON CONFLICT DO NOTHING RETURNING member_id"
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql)
                .bind(program.as_str())
                .bind(campaign.as_str())
                .bind(channel.as_str())
                .bind(to_micros(now));
            for (m, code) in chunk.iter().zip(&fresh) {
                q = q.bind(code.as_str()).bind(m.as_str());
            }
            let made: HashSet<String> = q.fetch_all(&mut *conn).await?.into_iter().collect();
            for (m, code) in chunk.iter().zip(fresh) {
                if made.contains(m.as_str()) {
                    codes.insert(m.as_str().to_string(), code);
                }
            }
        }
        let mut ordered = Vec::with_capacity(members.len());
        for m in members {
            let code = match codes.remove(m.as_str()) {
                Some(code) => code,
                None => {
                    let link = NewLink {
                        program_id: program.clone(),
                        kind: LinkKind::Card,
                        member_id: Some(m.clone()),
                        campaign_id: Some(campaign.clone()),
                        channel: Some(channel),
                        label: None,
                    };
                    self.link_in(conn, &link, now).await?
                }
            };
            ordered.push(code);
        }
        Ok(ordered)
    }

    async fn live_card_link(
        &self,
        conn: &mut AnyConnection,
        link: &NewLink,
    ) -> Result<Option<LinkCode>, StoreError> {
        let code: Option<String> = sqlx::query_scalar(
            "SELECT code FROM links WHERE kind = 'card' AND revoked_at IS NULL AND member_id = $1 \
             AND COALESCE(campaign_id, '') = $2 AND COALESCE(channel, '') = $3",
        )
        .bind(link.member_id.as_ref().map(|m| m.as_str().to_string()))
        .bind(
            link.campaign_id
                .as_ref()
                .map_or("", |c| c.as_str())
                .to_string(),
        )
        .bind(link.channel.map_or("", |c| c.as_str()))
        .fetch_optional(&mut *conn)
        .await?;
        Ok(code.map(LinkCode::from_trusted))
    }

    async fn link_on(
        &self,
        conn: &mut AnyConnection,
        code: &LinkCode,
    ) -> Result<LinkRecord, StoreError> {
        sqlx::query_as::<_, LinkRow>(&format!("SELECT {LINK_COLUMNS} FROM links WHERE code = $1"))
            .bind(code.as_str())
            .fetch_one(conn)
            .await?
            .try_into()
    }

    /// A link by its code, revoked or not.
    pub async fn link(&self, code: &LinkCode) -> Result<LinkRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.link_on(&mut conn, code).await
    }

    /// A program's links, newest first, optionally only a member's or a campaign's.
    pub async fn links(
        &self,
        program: &ProgramId,
        member: Option<&MemberId>,
        campaign: Option<&CampaignId>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        sqlx::query_as::<_, LinkRow>(&format!(
            "SELECT {LINK_COLUMNS} FROM links WHERE program_id = $1 \
             AND ($2 IS NULL OR member_id = $2) AND ($3 IS NULL OR campaign_id = $3) \
             ORDER BY created_at DESC, code LIMIT $4"
        ))
        .bind(program.as_str())
        .bind(member.map(|m| m.as_str().to_string()))
        .bind(campaign.map(|c| c.as_str().to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(LinkRecord::try_from)
        .collect()
    }

    /// The program a campaign belongs to, if the campaign exists.
    pub async fn campaign_program(
        &self,
        campaign: &CampaignId,
    ) -> Result<Option<ProgramId>, StoreError> {
        let program: Option<String> =
            sqlx::query_scalar("SELECT program_id FROM campaigns WHERE id = $1")
                .bind(campaign.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(program.map(ProgramId::from_trusted))
    }

    /// Revokes a link: it stops opening anything. Revoking twice keeps the first time.
    #[tracing::instrument(name = "store.revoke_link", skip_all)]
    pub async fn revoke_link(
        &self,
        code: &LinkCode,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE links SET revoked_at = COALESCE(revoked_at, $2) WHERE code = $1")
                .bind(code.as_str())
                .bind(to_micros(now))
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records what a visitor did with `link`. `member` is the link's own for card links, the
    /// new member after an enrollment. A member who enrolled through a campaign's link, or who
    /// first installs the card after following one, is attributed to that campaign and
    /// channel (once: the first campaign that brought them keeps them).
    #[tracing::instrument(name = "store.record_link_event", skip_all)]
    pub async fn record_link_event(
        &self,
        link: &LinkRecord,
        action: LinkAction,
        platform: Platform,
        member: Option<&MemberId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // Every landing page view writes: on SQLite the views of this process take turns
        // rather than meet at the database lock, whose busy handler sleeps in growing steps.
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        insert_link_event(&mut tx, link, action, platform, member, now).await?;
        tx.commit().await?;
        writer.finish().await
    }
}

/// Inside the transaction that records a card installed: attribute the member to the
/// campaign of the last link they followed before, if none brought them yet.
pub(in crate::storage) async fn attribute_install(
    conn: &mut AnyConnection,
    member: &MemberId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE members SET \
         source_campaign_id = (SELECT e.campaign_id FROM link_events e WHERE e.member_id = $1 \
             AND e.campaign_id IS NOT NULL ORDER BY e.id DESC LIMIT 1), \
         source_channel = (SELECT e.channel FROM link_events e WHERE e.member_id = $1 \
             AND e.campaign_id IS NOT NULL ORDER BY e.id DESC LIMIT 1) \
         WHERE id = $1 AND source_campaign_id IS NULL",
    )
    .bind(member.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends what a visitor did with `link` (see `Store::record_link_event`), in the caller's
/// transaction.
pub(in crate::storage) async fn insert_link_event(
    conn: &mut AnyConnection,
    link: &LinkRecord,
    action: LinkAction,
    platform: Platform,
    member: Option<&MemberId>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO link_events (link_code, program_id, campaign_id, channel, member_id, \
         action, platform, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(link.code.as_str())
    .bind(link.program_id.as_str())
    .bind(link.campaign_id.as_ref().map(|c| c.as_str().to_string()))
    .bind(link.channel.map(|c| c.as_str()))
    .bind(member.map(|m| m.as_str().to_string()))
    .bind(action.as_str())
    .bind(platform.as_str())
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await?;
    if let (Some(member), Some(campaign), LinkAction::Enrolled) =
        (member, &link.campaign_id, action)
    {
        sqlx::query(
            "UPDATE members SET source_campaign_id = $2, source_channel = $3 \
             WHERE id = $1 AND source_campaign_id IS NULL",
        )
        .bind(member.as_str())
        .bind(campaign.as_str())
        .bind(link.channel.map(|c| c.as_str()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
