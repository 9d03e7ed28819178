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
        Some(Search {
            prefix: format!("{}%", literal(&lower)),
            word: format!("% {}%", literal(&lower)),
            exact: lower,
            phone,
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
mod tests {
    use super::*;
    use crate::domain::contact::{EmailAddress, PhoneNumber};
    use crate::domain::distribution::ConsentSource;
    use crate::storage::test_postgres;

    async fn found(store: &Store, program: &ProgramId, q: MemberQuery) -> Vec<String> {
        let mut names: Vec<String> = store
            .members(program, &q)
            .await
            .unwrap()
            .members
            .into_iter()
            .map(|m| m.name)
            .collect();
        names.sort();
        names
    }

    async fn search(store: &Store, program: &ProgramId, term: &str) -> Vec<String> {
        let q = MemberQuery {
            search: Some(term.into()),
            limit: 50,
            ..Default::default()
        };
        found(store, program, q).await
    }

    async fn searching(store: &Store) {
        let program = crate::domain::program::sample();
        store.insert_program(&program).await.unwrap();
        let other = crate::domain::program::Program {
            id: ProgramId::generate(&crate::clock::OsRandom),
            ..crate::domain::program::sample()
        };
        store.insert_program(&other).await.unwrap();
        let people = [
            (
                "Ada Lovelace",
                Some("Ada@Engines.example"),
                Some("+4915112345678"),
                Some("CRM-100"),
                "Gold",
            ),
            (
                "Grace Hopper",
                Some("grace@navy.example"),
                Some("+14155550100"),
                Some("crm-200"),
                "Bronze",
            ),
            ("Alan 50%_Turing", None, None, None, "Bronze"),
        ];
        let mut ada = None;
        for (name, email, phone, external, tier) in people {
            let m = Member {
                name: name.into(),
                email: email.map(|e| EmailAddress::parse(e).unwrap()),
                phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
                external_id: external.map(str::to_string),
                tier: Some(tier.into()),
                ..crate::domain::member::sample(&program.id)
            };
            store
                .insert_member(&m, ConsentSource::Enrollment)
                .await
                .unwrap();
            ada.get_or_insert(m.id.to_string());
        }
        // Someone of another program is never found.
        let stranger = Member {
            name: "Ada Other".into(),
            ..crate::domain::member::sample(&other.id)
        };
        store
            .insert_member(&stranger, ConsentSource::Enrollment)
            .await
            .unwrap();

        let ada_only = vec!["Ada Lovelace".to_string()];
        assert_eq!(
            search(store, &program.id, "ada").await,
            ada_only,
            "name, any case"
        );
        assert_eq!(
            search(store, &program.id, "LOVE").await,
            ada_only,
            "a word of the name"
        );
        assert_eq!(
            search(store, &program.id, "ada@eng").await,
            ada_only,
            "email"
        );
        assert_eq!(
            search(store, &program.id, "crm-1").await,
            ada_only,
            "external id"
        );
        assert_eq!(
            search(store, &program.id, "+49 151 123").await,
            ada_only,
            "phone, international"
        );
        assert_eq!(
            search(store, &program.id, "0151 1234 5678").await,
            ada_only,
            "phone, national"
        );
        assert_eq!(
            search(store, &program.id, ada.as_deref().unwrap()).await,
            ada_only,
            "member id"
        );
        assert_eq!(
            search(store, &program.id, "crm").await,
            ["Ada Lovelace", "Grace Hopper"],
            "external ids in any case"
        );
        // % and _ are letters here, not wildcards.
        assert_eq!(
            search(store, &program.id, "50%_").await,
            ["Alan 50%_Turing"]
        );
        assert!(search(store, &program.id, "50_%").await.is_empty());
        assert!(
            search(store, &program.id, "velace").await.is_empty(),
            "starts only"
        );
        assert_eq!(
            search(store, &program.id, "  ").await.len(),
            3,
            "blank: everyone"
        );
        let gold = MemberQuery {
            tier: Some("Bronze".into()),
            search: Some("a".into()),
            limit: 50,
            ..Default::default()
        };
        assert_eq!(found(store, &program.id, gold).await, ["Alan 50%_Turing"]);

        // Where the card is, the balance and the last visit. Ada: an iPhone, 120 points and a
        // scan today; Grace: Google Wallet (and a card she removed does not count), 500
        // points, a scan 100 days ago; Alan: nothing, 0 points.
        let now = crate::clock::system_now();
        let everyone = MemberQuery {
            limit: 50,
            ..Default::default()
        };
        let all = store.members(&program.id, &everyone).await.unwrap().members;
        let who = |name: &str| all.iter().find(|m| m.name == name).unwrap().clone();
        let (ada, grace, alan) = (
            who("Ada Lovelace"),
            who("Grace Hopper"),
            who("Alan 50%_Turing"),
        );
        store
            .register_device(
                &crate::domain::device::DeviceLibraryId::parse("search-device").unwrap(),
                &crate::domain::device::PushToken::parse(&"ab".repeat(32)).unwrap(),
                &program.pass_type_id,
                &ada.serial,
                &program.id,
                now,
            )
            .await
            .unwrap();
        for (member, saved, deleted) in [(&grace, true, false), (&alan, true, true)] {
            sqlx::query(
                "INSERT INTO google_objects (member_id, program_id, object_id, class_id, saved_at, deleted_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'class', $4, $5, 0, 0)",
            )
            .bind(member.id.as_str())
            .bind(program.id.as_str())
            .bind(format!("object-{}", member.id))
            .bind(saved.then_some(1_i64))
            .bind(deleted.then_some(2_i64))
            .execute(&store.pool)
            .await
            .unwrap();
        }
        sqlx::query(
            "UPDATE members SET balance = CASE id WHEN $1 THEN 500 WHEN $2 THEN 0 ELSE balance END",
        )
        .bind(grace.id.as_str())
        .bind(alan.id.as_str())
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO api_keys (id, name, role, secret_hash, created_at) VALUES ('key_searchsearchsear', 'till', 'staff', 'h', 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        for (member, days_ago, result) in [
            (&ada, 0, "accepted"),
            (&grace, 100, "accepted"),
            (&alan, 0, "rejected"),
        ] {
            sqlx::query(
                "INSERT INTO scans (program_id, member_id, staff_key_id, staff_name, action, result, points, single_use, created_at) \
                 VALUES ($1, $2, 'key_searchsearchsear', 'till', 'visit', $3, 0, 0, $4)",
            )
            .bind(program.id.as_str())
            .bind(member.id.as_str())
            .bind(result)
            .bind(to_micros(now - time::Duration::days(days_ago)))
            .execute(&store.pool)
            .await
            .unwrap();
        }
        let filter = |f: fn(&mut MemberQuery)| {
            let mut q = MemberQuery {
                limit: 50,
                ..Default::default()
            };
            f(&mut q);
            q
        };
        let cases: [(MemberQuery, &[&str]); 8] = [
            (filter(|q| q.apple = Some(true)), &["Ada Lovelace"]),
            (
                filter(|q| q.apple = Some(false)),
                &["Alan 50%_Turing", "Grace Hopper"],
            ),
            (filter(|q| q.google = Some(true)), &["Grace Hopper"]),
            (
                filter(|q| q.google = Some(false)),
                &["Ada Lovelace", "Alan 50%_Turing"],
            ),
            (
                filter(|q| q.points_min = Some(100)),
                &["Ada Lovelace", "Grace Hopper"],
            ),
            (
                filter(|q| {
                    q.points_min = Some(100);
                    q.points_max = Some(200)
                }),
                &["Ada Lovelace"],
            ),
            (
                filter(|q| {
                    q.visited_since = Some(crate::clock::system_now() - time::Duration::days(30))
                }),
                &["Ada Lovelace"],
            ),
            (
                filter(|q| {
                    q.not_visited_since =
                        Some(crate::clock::system_now() - time::Duration::days(30))
                }),
                &["Alan 50%_Turing", "Grace Hopper"],
            ),
        ];
        for (i, (q, expected)) in cases.into_iter().enumerate() {
            assert_eq!(found(store, &program.id, q).await, expected, "case {i}");
        }
    }

    #[tokio::test]
    async fn search_on_sqlite() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("search.db").display());
        let store = Store::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        searching(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn search_on_postgres() {
        sqlx::any::install_default_drivers();
        let Some((admin, url)) = test_postgres::database("storage::member_search").await else {
            return;
        };
        let store = Store::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        searching(&store).await;
        test_postgres::remove(store, &admin, &url).await;
    }
}
