//! Listing a program's members a page at a time: filtered by status, tier or external id, and
//! found by what a person types into a search box (`MemberQuery::search`): the start of a
//! name or of any word in it, of an email address, of an external id, a phone number (with
//! the country code, or nationally with a leading 0), or a member id, case-insensitively; and
//! by where their card is (Apple Wallet, Google Wallet), their balance and their last visit;
//! sorted by when they joined, their name or their balance. A search is a prefix range over
//! the members' search keys (`member_search`, see `domain::search`), and each sort has its
//! own index, so a page costs the same at ten members and at a million.

use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::ids::ProgramId;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::search;
use crate::storage::loyalty::members::{MemberRow, MEMBER_COLUMNS};
use crate::storage::{Store, StoreError};

/// Filters and position for listing members.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub status: Option<MemberStatus>,
    pub external_id: Option<String>,
    /// What was typed into a search box; see the module's documentation.
    pub search: Option<String>,
    /// Members of this tier only.
    pub tier: Option<String>,
    /// With (`true`) or without (`false`) the card on an Apple Wallet device.
    pub apple: Option<bool>,
    /// With or without the card saved in Google Wallet (and not removed).
    pub google: Option<bool>,
    /// A balance of at least / at most this.
    pub points_min: Option<i64>,
    pub points_max: Option<i64>,
    /// Scanned (an accepted scan) at or after this time; or not.
    pub visited_since: Option<OffsetDateTime>,
    pub not_visited_since: Option<OffsetDateTime>,
    pub sort: MemberSort,
    /// Continue after this member (from the previous page's `next`), in the same sort.
    pub after: Option<MemberCursor>,
    pub limit: u32,
}

/// The order of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemberSort {
    /// Oldest first: the order they joined in.
    #[default]
    Joined,
    /// Newest first.
    Newest,
    /// By name, A to Z (case and accents aside).
    Name,
    /// The highest balance first.
    Points,
}

impl MemberSort {
    pub const ALL: [MemberSort; 4] = [Self::Joined, Self::Newest, Self::Name, Self::Points];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Joined => "joined",
            Self::Newest => "newest",
            Self::Name => "name",
            Self::Points => "points",
        }
    }

    pub fn parse(s: &str) -> Option<MemberSort> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == s)
    }

    /// The column sorted by, and whether the order is descending.
    fn column(self) -> (&'static str, bool) {
        match self {
            Self::Joined => ("created_at", false),
            Self::Newest => ("created_at", true),
            Self::Name => ("name_key", false),
            Self::Points => ("balance", true),
        }
    }
}

/// Where a page ends: the last member's sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCursor {
    pub sort: MemberSort,
    pub key: SortKey,
    pub id: String,
}

/// A sort column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

impl MemberCursor {
    fn of(sort: MemberSort, m: &Member) -> MemberCursor {
        let key = match sort {
            MemberSort::Joined | MemberSort::Newest => SortKey::Number(to_micros(m.created_at)),
            MemberSort::Name => SortKey::Text(search::name_key(&m.name)),
            MemberSort::Points => SortKey::Number(m.balance),
        };
        MemberCursor {
            sort,
            key,
            id: m.id.to_string(),
        }
    }
}

#[derive(Debug)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Where the next page starts, if there is one.
    pub next: Option<MemberCursor>,
}

/// A search matching at least this many keys is common: its members are found by walking
/// the list in its order (at 1M members, one in a hundred or more match, so a page is found
/// within a few thousand); fewer are taken from the keys and sorted. The unit tests, with a
/// handful of members, take both ways.
const COMMON: i64 = if cfg!(test) { 3 } else { 10_000 };

/// How far along the sort a filtered or common listing looks before it takes another way:
/// a few milliseconds of rows, which hold a page whenever one member in a hundred or so
/// matches there. The unit tests look only two rows ahead, so they take every way.
const WALK: u32 = if cfg!(test) { 2 } else { 5_000 };

impl Store {
    /// Whether `ranges` of search keys of `program` hold at least [`COMMON`] keys.
    async fn search_is_common(
        &self,
        program: &ProgramId,
        ranges: &[(String, String)],
    ) -> Result<bool, StoreError> {
        if ranges.is_empty() {
            return Ok(false);
        }
        let terms: Vec<String> = (0..ranges.len())
            .map(|i| format!("(term >= ${} AND term < ${})", 2 + 2 * i, 3 + 2 * i))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM member_search WHERE program_id = $1 AND ({}) \
             LIMIT {COMMON}) AS found",
            terms.join(" OR ")
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(program.as_str());
        for (from, to) in ranges {
            q = q.bind(from.clone()).bind(to.clone());
        }
        Ok(q.fetch_one(&self.pool).await? >= COMMON)
    }

    pub async fn members(
        &self,
        program: &ProgramId,
        q: &MemberQuery,
    ) -> Result<MemberPage, StoreError> {
        if q.after.as_ref().is_some_and(|after| after.sort != q.sort) {
            return Err(anyhow::anyhow!("a cursor of another sort").into());
        }
        let limit = q.limit.clamp(1, 500);
        let mut filters = String::new();
        let mut n = 1;
        let mut next_arg = || {
            n += 1;
            n
        };
        if q.status.is_some() {
            filters.push_str(&format!(" AND status = ${}", next_arg()));
        }
        if q.external_id.is_some() {
            filters.push_str(&format!(" AND external_id = ${}", next_arg()));
        }
        if q.tier.is_some() {
            filters.push_str(&format!(" AND tier = ${}", next_arg()));
        }
        let apple = "EXISTS (SELECT 1 FROM apple_registrations r WHERE r.serial = members.serial)";
        let google = "EXISTS (SELECT 1 FROM google_objects g WHERE g.member_id = members.id \
                      AND g.saved_at IS NOT NULL AND g.deleted_at IS NULL)";
        for (wanted, exists) in [(q.apple, apple), (q.google, google)] {
            match wanted {
                Some(true) => filters.push_str(&format!(" AND {exists}")),
                Some(false) => filters.push_str(&format!(" AND NOT {exists}")),
                None => {}
            }
        }
        if q.points_min.is_some() {
            filters.push_str(&format!(" AND balance >= ${}", next_arg()));
        }
        if q.points_max.is_some() {
            filters.push_str(&format!(" AND balance <= ${}", next_arg()));
        }
        let visited = |n: i32| {
            format!(
                "EXISTS (SELECT 1 FROM scans s WHERE s.member_id = members.id \
                 AND s.result = 'accepted' AND s.created_at >= ${n})"
            )
        };
        if q.visited_since.is_some() {
            filters.push_str(&format!(" AND {}", visited(next_arg())));
        }
        if q.not_visited_since.is_some() {
            filters.push_str(&format!(" AND NOT {}", visited(next_arg())));
        }
        let ranges: Vec<(String, String)> = q
            .search
            .as_deref()
            .map(search::prefixes)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| search::prefix_end(&p).map(|end| (p, end)))
            .collect();
        let exact = q
            .search
            .as_deref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        // A search, two ways: a probe of each member's keys (for a walk along the sort), or
        // the members the keys name (the exact id joins them, not an OR beside them: with an
        // OR the planners walk every member of the program to test each one).
        let (probe, keys) = if exact.is_some() {
            let mut any = Vec::new();
            for _ in &ranges {
                let (from, to) = (next_arg(), next_arg());
                any.push(format!("(s.term >= ${from} AND s.term < ${to})"));
            }
            let terms = if any.is_empty() {
                "FALSE".to_string()
            } else {
                any.join(" OR ")
            };
            let exact = next_arg();
            (
                format!(
                    " AND ((SELECT 1 FROM member_search s WHERE s.member_id = members.id \
                     AND s.program_id = $1 AND ({terms}) LIMIT 1) IS NOT NULL OR id = ${exact})"
                ),
                format!(
                    " AND id IN (SELECT s.member_id FROM member_search s WHERE s.program_id = $1 \
                     AND ({terms}) UNION ALL SELECT ${exact})"
                ),
            )
        } else {
            (String::new(), String::new())
        };
        let (column, descending) = q.sort.column();
        let (order, past) = if descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        let cursor = if q.after.is_some() {
            let (a, b) = (next_arg(), next_arg());
            format!(" AND ({column} {past} ${a} OR ({column} = ${a} AND id {past} ${b}))")
        } else {
            String::new()
        };
        let order = format!(" ORDER BY {column} {order}, id {order}");
        let page = format!("{order} LIMIT ${}", next_arg());
        let select = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1");
        // The next WALK members along the sort, the filters and the search kept among them.
        let walk = format!(
            "SELECT {MEMBER_COLUMNS} FROM (SELECT * FROM members WHERE program_id = $1{cursor}\
             {order} LIMIT {WALK}) AS members WHERE program_id = $1{filters}{probe}{page}"
        );
        let by_keys = format!("{select}{filters}{keys}{cursor}{page}");
        let fetch =
            |sql: String| self.member_rows(sql, program, q, &ranges, exact.as_deref(), limit);
        let found = if exact.is_some() && !self.search_is_common(program, &ranges).await? {
            // Few match: take them from the keys and sort those.
            fetch(by_keys).await?
        } else if exact.is_none() && filters.is_empty() {
            // Everyone: the sort's index, a page long.
            fetch(format!("{select}{cursor}{page}")).await?
        } else {
            // Many may match (a common name, a filter): first look along the sort a little
            // way, which fills the page when matches are common there; when it does not
            // (matches are rare there, or bunched further on), take the members the keys
            // name, or walk as far as it takes.
            let walked = fetch(walk).await?;
            if walked.len() > limit as usize {
                walked
            } else if exact.is_some() {
                fetch(by_keys).await?
            } else {
                fetch(format!("{select}{filters}{cursor}{page}")).await?
            }
        };
        let mut members = found
            .into_iter()
            .map(Member::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if members.len() > limit as usize {
            members.truncate(limit as usize);
            members.last().map(|m| MemberCursor::of(q.sort, m))
        } else {
            None
        };
        Ok(MemberPage { members, next })
    }

    /// Runs a listing `sql` with `q`'s values bound in the order [`Store::members`] numbers
    /// them, for up to `limit` + 1 members.
    async fn member_rows(
        &self,
        sql: String,
        program: &ProgramId,
        q: &MemberQuery,
        ranges: &[(String, String)],
        exact: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemberRow>, StoreError> {
        let mut query = sqlx::query_as::<_, MemberRow>(&sql).bind(program.as_str());
        if let Some(s) = q.status {
            query = query.bind(s.as_str());
        }
        if let Some(e) = &q.external_id {
            query = query.bind(e.clone());
        }
        if let Some(t) = &q.tier {
            query = query.bind(t.clone());
        }
        for bound in [q.points_min, q.points_max].into_iter().flatten() {
            query = query.bind(bound);
        }
        for since in [q.visited_since, q.not_visited_since].into_iter().flatten() {
            query = query.bind(to_micros(since));
        }
        if let Some(exact) = exact {
            for (from, to) in ranges {
                query = query.bind(from.clone()).bind(to.clone());
            }
            query = query.bind(exact.to_owned());
        }
        if let Some(after) = &q.after {
            query = match &after.key {
                SortKey::Number(n) => query.bind(*n),
                SortKey::Text(t) => query.bind(t.clone()),
            }
            .bind(after.id.clone());
        }
        Ok(query
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests;
