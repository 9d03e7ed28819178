//! Listing a program's members a page at a time: filtered by status, tier or external id, and
//! found by what a person types into a search box (`MemberQuery::search`): the start of a
//! name or of any word in it, of an email address, of an external id, a phone number (with
//! the country code, or nationally with a leading 0), or a member id, case-insensitively; and
//! by where their card is (Apple Wallet, Google Wallet), their balance and their last visit.

use time::OffsetDateTime;

use crate::clock::to_micros;
use crate::domain::ids::ProgramId;
use crate::domain::member::{Member, MemberStatus};
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
    /// Continue after this member (from the previous page's `next_cursor`).
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

#[derive(Debug)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Where the next page starts, if there is one.
    pub next: Option<(i64, String)>,
}

/// `text` as a LIKE pattern matching itself literally (escape character `\`).
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The patterns a search term is looked up with: a prefix of the lower-cased fields, a word
/// start inside the name, and the phone number's, when the term can be one.
struct Search {
    prefix: String,
    word: String,
    exact: String,
    phone: Option<String>,
    /// The code printed under the barcode, in groups, any case: a prefix of the serial.
    code: Option<String>,
}

impl Search {
    fn new(term: &str) -> Option<Search> {
        let term = term.trim();
        if term.is_empty() {
            return None;
        }
        let lower = term.to_lowercase();
        let digits: String = term.chars().filter(char::is_ascii_digit).collect();
        let phone_like = digits.len() >= 3
            && term
                .chars()
                .all(|c| c.is_ascii_digit() || " +-./()".contains(c));
        let phone = phone_like.then(|| {
            if term.starts_with('+') || term.starts_with("00") {
                // International: +49 151…, 0049 151…
                format!("+{}%", digits.strip_prefix("00").unwrap_or(&digits))
            } else {
                // National (0151 …) or without the 0: the number's end, after any country code.
                format!("%{}%", digits.trim_start_matches('0'))
            }
        });
        let compact: String = lower.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let code = (compact.len() >= 8
            && compact
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)))
        .then(|| format!("{compact}%"));
        Some(Search {
            prefix: format!("{}%", literal(&lower)),
            word: format!("% {}%", literal(&lower)),
            exact: lower,
            phone,
            code,
        })
    }
}

impl Store {
    pub async fn members(
        &self,
        program: &ProgramId,
        q: &MemberQuery,
    ) -> Result<MemberPage, StoreError> {
        let limit = q.limit.clamp(1, 500);
        let mut sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1");
        let mut n = 1;
        let mut next_arg = || {
            n += 1;
            n
        };
        if q.status.is_some() {
            sql.push_str(&format!(" AND status = ${}", next_arg()));
        }
        if q.external_id.is_some() {
            sql.push_str(&format!(" AND external_id = ${}", next_arg()));
        }
        if q.tier.is_some() {
            sql.push_str(&format!(" AND tier = ${}", next_arg()));
        }
        let apple = "EXISTS (SELECT 1 FROM apple_registrations r WHERE r.serial = members.serial)";
        let google = "EXISTS (SELECT 1 FROM google_objects g WHERE g.member_id = members.id \
                      AND g.saved_at IS NOT NULL AND g.deleted_at IS NULL)";
        for (wanted, exists) in [(q.apple, apple), (q.google, google)] {
            match wanted {
                Some(true) => sql.push_str(&format!(" AND {exists}")),
                Some(false) => sql.push_str(&format!(" AND NOT {exists}")),
                None => {}
            }
        }
        if q.points_min.is_some() {
            sql.push_str(&format!(" AND balance >= ${}", next_arg()));
        }
        if q.points_max.is_some() {
            sql.push_str(&format!(" AND balance <= ${}", next_arg()));
        }
        let visited = |n: i32| {
            format!(
                "EXISTS (SELECT 1 FROM scans s WHERE s.member_id = members.id \
                 AND s.result = 'accepted' AND s.created_at >= ${n})"
            )
        };
        if q.visited_since.is_some() {
            sql.push_str(&format!(" AND {}", visited(next_arg())));
        }
        if q.not_visited_since.is_some() {
            sql.push_str(&format!(" AND NOT {}", visited(next_arg())));
        }
        let search = q.search.as_deref().and_then(Search::new);
        if let Some(s) = &search {
            let (prefix, word, exact) = (next_arg(), next_arg(), next_arg());
            sql.push_str(&format!(
                " AND (lower(name) LIKE ${prefix} ESCAPE '\\' OR lower(name) LIKE ${word} ESCAPE '\\' \
                 OR lower(email) LIKE ${prefix} ESCAPE '\\' OR lower(external_id) LIKE ${prefix} ESCAPE '\\' \
                 OR id = ${exact}"
            ));
            if s.phone.is_some() {
                sql.push_str(&format!(" OR phone LIKE ${}", next_arg()));
            }
            if s.code.is_some() {
                sql.push_str(&format!(" OR serial LIKE ${}", next_arg()));
            }
            sql.push(')');
        }
        if q.after.is_some() {
            let (a, b) = (next_arg(), next_arg());
            sql.push_str(&format!(
                " AND (created_at > ${a} OR (created_at = ${a} AND id > ${b}))"
            ));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT ${}", next_arg()));
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
        if let Some(s) = &search {
            query = query
                .bind(s.prefix.clone())
                .bind(s.word.clone())
                .bind(s.exact.clone());
            if let Some(p) = &s.phone {
                query = query.bind(p.clone());
            }
            if let Some(c) = &s.code {
                query = query.bind(c.clone());
            }
        }
        if let Some((at, id)) = &q.after {
            query = query.bind(*at).bind(id.clone());
        }
        let rows = query
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut members = rows
            .into_iter()
            .map(Member::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if members.len() > limit as usize {
            members.truncate(limit as usize);
            members
                .last()
                .map(|m| (to_micros(m.created_at), m.id.to_string()))
        } else {
            None
        };
        Ok(MemberPage { members, next })
    }
}

#[cfg(test)]
mod tests;
