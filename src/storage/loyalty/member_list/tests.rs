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
    // The code printed under the barcode: the serial in groups of four, as typed at a till.
    let serial = store
        .member(&crate::domain::ids::MemberId::parse(ada.as_deref().unwrap()).unwrap())
        .await
        .unwrap()
        .serial;
    let printed: Vec<String> = serial
        .as_str()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect();
    assert_eq!(
        search(store, &program.id, &printed.join(" ")).await,
        ada_only,
        "the printed code"
    );
    assert_eq!(
        search(store, &program.id, &printed[..3].join("-").to_lowercase()).await,
        ada_only,
        "its start, with dashes, in lower case"
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
                q.not_visited_since = Some(crate::clock::system_now() - time::Duration::days(30))
            }),
            &["Alan 50%_Turing", "Grace Hopper"],
        ),
    ];
    for (i, (q, expected)) in cases.into_iter().enumerate() {
        assert_eq!(found(store, &program.id, q).await, expected, "case {i}");
    }
}

/// Every sort pages through everyone once, in its order; a renamed member is found by the new
/// name only; an erased one by nothing they were; keys missing after an upgrade are made.
async fn sorting_and_keeping_keys(store: &Store) {
    let program = crate::domain::program::sample();
    store.insert_program(&program).await.unwrap();
    let t0 = crate::clock::system_now();
    let mut people = Vec::new();
    for (i, (name, balance)) in [
        ("Émile Zola", 30),
        ("anna Berg", 30),
        ("Zoë Adams", 5),
        ("Bo Çelik", 900),
        ("anna Berg", 12),
    ]
    .into_iter()
    .enumerate()
    {
        let m = Member {
            name: name.into(),
            balance,
            created_at: t0 + time::Duration::seconds(i as i64),
            // Serials are searched too: these start with z, so "b" finds names only.
            serial: crate::domain::apple_ids::SerialNumber::parse(&format!(
                "zzzzzzzzzzzzzzzzzzz{}",
                ["a", "b", "c", "d", "e"][i]
            ))
            .unwrap(),
            ..crate::domain::member::sample(&program.id)
        };
        store
            .insert_member(&m, ConsentSource::Enrollment)
            .await
            .unwrap();
        people.push(m);
    }
    let order = |sort: MemberSort| {
        let mut all = people.clone();
        match sort {
            MemberSort::Joined => all.sort_by_key(|m| (m.created_at, m.id.to_string())),
            MemberSort::Newest => {
                all.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id.to_string())))
            }
            MemberSort::Name => {
                all.sort_by_key(|m| (crate::domain::search::name_key(&m.name), m.id.to_string()))
            }
            MemberSort::Points => {
                all.sort_by_key(|m| std::cmp::Reverse((m.balance, m.id.to_string())))
            }
        }
        all.into_iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
    };
    for sort in MemberSort::ALL {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = MemberQuery {
                sort,
                after: after.clone(),
                limit: 2,
                ..Default::default()
            };
            let page = store.members(&program.id, &q).await.unwrap();
            seen.extend(page.members.iter().map(|m| m.id.to_string()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, order(sort), "{sort:?}");
    }
    // With a filter the list is first looked along a little way (two rows in the tests),
    // then walked as far as it takes: paged one by one, each member still comes once.
    for sort in MemberSort::ALL {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = MemberQuery {
                sort,
                status: Some(MemberStatus::Active),
                after: after.clone(),
                limit: 1,
                ..Default::default()
            };
            let page = store.members(&program.id, &q).await.unwrap();
            seen.extend(page.members.iter().map(|m| m.id.to_string()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, order(sort), "filtered, {sort:?}");
    }
    let pid = &program.id;
    let names = |sort| async move {
        let q = MemberQuery {
            sort,
            limit: 50,
            ..Default::default()
        };
        let page = store.members(pid, &q).await.unwrap();
        page.members.into_iter().map(|m| m.name).collect::<Vec<_>>()
    };
    let by_name = names(MemberSort::Name).await;
    assert_eq!(by_name[..2], ["anna Berg", "anna Berg"], "case aside");
    assert_eq!(
        by_name[2..],
        ["Bo Çelik", "Émile Zola", "Zoë Adams"],
        "accents aside"
    );

    // Few matches (taken from the keys) and many (the list walked), paged by name.
    for (typed, expected) in [
        ("anna", &["anna Berg", "anna Berg"][..]),
        ("b", &["anna Berg", "anna Berg", "Bo Çelik"][..]),
    ] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = MemberQuery {
                search: Some(typed.into()),
                sort: MemberSort::Name,
                after: after.clone(),
                limit: 1,
                ..Default::default()
            };
            let page = store.members(&program.id, &q).await.unwrap();
            seen.extend(page.members.into_iter().map(|m| m.name));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{typed}");
    }
    assert_eq!(search(store, &program.id, "emile").await, ["Émile Zola"]);
    assert_eq!(search(store, &program.id, "ÇEL").await, ["Bo Çelik"]);
    let mut zoe = people[2].clone();
    zoe.name = "Zoë Brook".into();
    zoe.email = Some(EmailAddress::parse("zoe@brook.example").unwrap());
    store.update_member_profile(&zoe, t0).await.unwrap();
    assert!(
        search(store, &program.id, "adams").await.is_empty(),
        "the old name is gone"
    );
    assert_eq!(search(store, &program.id, "brook").await, ["Zoë Brook"]);
    assert_eq!(search(store, &program.id, "zoe@").await, ["Zoë Brook"]);
    store.erase_member(&zoe.id, t0).await.unwrap();
    for gone in ["zoe", "brook", "zoe@"] {
        assert!(search(store, &program.id, gone).await.is_empty(), "{gone}");
    }

    // As after an upgrade: no keys, none current. Starting again makes them.
    sqlx::query("DELETE FROM member_search")
        .execute(&store.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE members SET search_terms = 0, name_key = ''")
        .execute(&store.pool)
        .await
        .unwrap();
    assert!(search(store, &program.id, "anna").await.is_empty());
    store.migrate().await.unwrap();
    assert_eq!(
        search(store, &program.id, "anna").await,
        ["anna Berg", "anna Berg"]
    );
    assert_eq!(
        names(MemberSort::Name).await,
        [
            "anna Berg",
            "anna Berg",
            "Bo Çelik",
            "Émile Zola",
            "Erased member"
        ]
    );
    assert_eq!(
        store.index_members_for_search().await.unwrap(),
        0,
        "nothing left to do"
    );
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
    let url = format!("sqlite://{}", dir.path().join("sorting.db").display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    sorting_and_keeping_keys(&store).await;
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
    let Some((admin, url)) = test_postgres::database("storage::member_sort").await else {
        return;
    };
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    sorting_and_keeping_keys(&store).await;
    test_postgres::remove(store, &admin, &url).await;
}
