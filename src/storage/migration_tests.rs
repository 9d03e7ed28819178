//! SQLite's 0009_not_null_primary_keys rebuilds thirteen tables so their `TEXT PRIMARY KEY`
//! refuses NULL. On a database migrated to 0008 as the store did before 0009 (foreign keys on)
//! and holding a row in every table: every row is still there afterwards, every table keeps
//! its definition but for the key's NOT NULL, every index and trigger is as before, the
//! foreign keys into the rebuilt tables still hold and act (cascades included), and the
//! pooled connections still enforce them. A row with a NULL key stops the migration, and
//! applying it with foreign keys on (which would cascade-delete rows) is refused.

use std::collections::BTreeMap;

use sqlx::migrate::Migrate;
use sqlx::{AnyPool, Connection, Executor, Row};

use super::{Store, SQLITE_MIGRATIONS};

/// The rebuilt tables and their key columns.
const REBUILT: [(&str, &str); 13] = [
    ("api_keys", "id"),
    ("apple_devices", "device_library_id"),
    ("campaigns", "id"),
    ("google_callbacks", "nonce"),
    ("google_objects", "member_id"),
    ("links", "code"),
    ("locations", "id"),
    ("members", "id"),
    ("programs", "id"),
    ("rewards", "id"),
    ("service_secrets", "name"),
    ("webhook_endpoints", "id"),
    ("webhook_events", "id"),
];

/// A row in every table, referencing rows of the rebuilt tables wherever a column can. The
/// second program, device, webhook event and campaign are each referenced only by rows that
/// go when it is deleted (ON DELETE CASCADE).
const ROWS: &str = "
INSERT INTO programs (id, name, organization, pass_type_id, team_id, design, tiers, earn_rules,
    design_version, created_at, updated_at, pass_mark, pass_modified, expiry)
    VALUES ('p1', 'Coffee', 'Beans Ltd', 'pass.test.coffee', 'TEAM1', '{}', '[]', '[]', 3, 10, 11,
        7, 12, '{\"days\":365}'),
    ('p2', 'Tea', 'Leaves Ltd', 'pass.test.tea', 'TEAM1', '{}', '[]', '[]', 1, 10, 11, 0, 0, 'null');
INSERT INTO program_images (program_id, name, content, updated_at)
    VALUES ('p1', 'logo', x'89504e470d0a1a0a', 12), ('p2', 'logo', x'00ff', 12);
INSERT INTO rewards (id, program_id, name, cost, repeatable, active, created_at, updated_at)
    VALUES ('r1', 'p1', 'Free coffee', 100, 0, 1, 13, 14);
INSERT INTO campaigns (id, program_id, name, channel, template, data, audience, automation,
    status, next_run_at, last_run_at, sent_at, created_at, updated_at)
    VALUES ('c1', 'p1', 'Spring', 'email', 'offer', '{}', '{\"all\":true}', NULL, 'active', 70, 60,
        NULL, 60, 61),
    ('c2', 'p1', 'Summer', 'sms', 'offer', '{}', '{\"list\":true}', NULL, 'draft', NULL, NULL,
        NULL, 62, 62);
INSERT INTO members (id, program_id, external_id, name, email, phone, consent_email,
    consent_sms, status, balance, lifetime_points, tier, version, card_generation, serial,
    auth_token, created_at, updated_at, pass_mark, pass_modified, expiring_points, expiring_at,
    voided_at, source_campaign_id, source_channel)
    VALUES ('m1', 'p1', 'crm-1', 'Ada', 'ada@example.test', '+441234567890', 1, 0, 'active', 250,
        300, 'Gold', 4, 1, 'S1', 'token-1', 15, 16, 8, 17, 50, 99, NULL, 'c1', 'email');
INSERT INTO ledger_entries (program_id, member_id, kind, amount, balance_after, reason, actor,
    idempotency_key, fingerprint, created_at)
    VALUES ('p1', 'm1', 'earn', 300, 300, 'purchase', 'k1', 'till-1', 'f1', 18);
INSERT INTO api_keys (id, name, role, program_id, secret_hash, created_at, revoked_at)
    VALUES ('k1', 'Till 1', 'staff', 'p1', 'hash-1', 20, NULL);
INSERT INTO service_secrets (name, value, created_at) VALUES ('cookie_key', 'secret', 21);
INSERT INTO apple_devices (device_library_id, push_token, created_at, updated_at)
    VALUES ('dev1', 'tok1', 30, 31), ('dev2', 'tok2', 30, 31);
INSERT INTO apple_registrations (device_library_id, pass_type_id, serial, program_id,
    created_at, push_token)
    VALUES ('dev1', 'pass.test.coffee', 'S1', 'p1', 32, 'tok1'),
    ('dev2', 'pass.test.coffee', 'S1', 'p1', 33, 'tok2');
INSERT INTO device_logs (received_at, message) VALUES (34, 'hello');
INSERT INTO outbox_jobs (kind, dedup_key, payload, state, run_at, created_at)
    VALUES ('apns', 'card:m1', '{}', 'pending', 35, 35);
INSERT INTO google_objects (member_id, program_id, object_id, class_id, pushed_version,
    pushed_balance, pushed_tier, saved_at, deleted_at, created_at, updated_at, pushed_expiring_at)
    VALUES ('m1', 'p1', 'issuer.m1', 'issuer.p1', 4, 250, 'Gold', 36, NULL, 36, 37, 99);
INSERT INTO google_notifications (object_id, sent_at) VALUES ('issuer.m1', 38);
INSERT INTO google_callbacks (nonce, object_id, class_id, event, received_at)
    VALUES ('n1', 'issuer.m1', 'issuer.p1', 'save', 39);
INSERT INTO locations (id, program_id, name, address, created_at)
    VALUES ('l1', 'p1', 'Main Street', '1 Main Street', 40);
INSERT INTO scans (program_id, member_id, staff_key_id, staff_name, location_id, action, result,
    reason, amount_minor, points, reward_id, single_use, ledger_entry_id, idempotency_key,
    fingerprint, created_at)
    VALUES ('p1', 'm1', 'k1', 'Till 1', 'l1', 'redeem', 'accepted', NULL, NULL, -100, 'r1', 1, 1,
        'scan-1', 'f2', 41);
INSERT INTO expiry_reminders (member_id, expires_at, points, created_at) VALUES ('m1', 99, 50, 42);
INSERT INTO webhook_endpoints (id, program_id, url, secret, events, active, description,
    disabled_reason, created_at, updated_at)
    VALUES ('we1', 'p1', 'https://hooks.example.test/', 'whsec', '*', 1, 'CRM', NULL, 50, 51);
INSERT INTO webhook_events (id, program_id, type, data, created_at)
    VALUES ('ev1', 'p1', 'member.created', '{}', 52), ('ev2', 'p1', 'points.earned', '{}', 53);
INSERT INTO webhook_deliveries (event_id, endpoint_id, job_id, created_at)
    VALUES ('ev1', 'we1', 1, 54), ('ev2', 'we1', 1, 55);
INSERT INTO card_events (program_id, member_id, wallet, event, created_at)
    VALUES ('p1', 'm1', 'apple', 'installed', 56);
INSERT INTO campaign_members (campaign_id, member_id) VALUES ('c1', 'm1'), ('c2', 'm1');
INSERT INTO links (code, program_id, kind, member_id, campaign_id, channel, label, revoked_at,
    created_at)
    VALUES ('card-code', 'p1', 'card', 'm1', 'c1', 'email', NULL, NULL, 63),
    ('poster', 'p1', 'enroll', NULL, 'c1', 'print', 'Window poster', NULL, 64);
INSERT INTO messages (program_id, member_id, campaign_id, channel, template, data, link_code,
    dedup, status, reason, provider_ref, created_at, updated_at)
    VALUES ('p1', 'm1', 'c1', 'email', 'offer', '{}', 'card-code', 'c1:m1', 'delivered', NULL,
        'smtp-1', 65, 66);
INSERT INTO link_events (link_code, program_id, campaign_id, channel, member_id, action,
    platform, created_at)
    VALUES ('card-code', 'p1', 'c1', 'email', 'm1', 'clicked', 'ios', 67);
INSERT INTO consent_events (program_id, member_id, channel, granted, source, created_at)
    VALUES ('p1', 'm1', 'email', 1, 'enrollment', 68);
";

/// A SQLite store in `dir` migrated to 0008 as the store did then: on a pooled connection,
/// foreign keys on.
async fn store_at_0008(dir: &tempfile::TempDir) -> Store {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.path().join("rebuild.db").display());
    let store = Store::connect(&url, 2).await.unwrap();
    let mut conn = store.pool.acquire().await.unwrap();
    conn.ensure_migrations_table().await.unwrap();
    for migration in SQLITE_MIGRATIONS.iter().filter(|m| m.version <= 8) {
        conn.apply(migration).await.unwrap();
    }
    assert_eq!(applied(&store.pool).await, 8);
    store
}

async fn applied(pool: &AnyPool) -> i64 {
    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// What the migration must keep: `sqlite_master` (by type and name: table, SQL) and every
/// table's rows, each quoted column by column, sorted.
#[derive(Debug, PartialEq)]
struct Snapshot {
    schema: BTreeMap<(String, String), (String, Option<String>)>,
    rows: BTreeMap<String, Vec<String>>,
}

async fn snapshot(pool: &AnyPool) -> Snapshot {
    let mut schema: BTreeMap<(String, String), (String, Option<String>)> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        schema.insert((r.get(0), r.get(1)), (r.get(2), r.get(3)));
    }
    let mut rows = BTreeMap::new();
    for (kind, table) in schema.keys() {
        if kind != "table" || table.starts_with("sqlite_") {
            continue;
        }
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
        let quoted: Vec<String> = columns.iter().map(|c| format!("quote({c})")).collect();
        let mut found: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT {} FROM {table}",
            quoted.join(" || ',' || ")
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        found.sort();
        rows.insert(table.clone(), found);
    }
    Snapshot { schema, rows }
}

/// A table's SQL as compared: without comments and identifier quotes, lowercase outside
/// string literals, spaces only between words (so the columns 0002, 0004 and 0006 appended
/// read as if written in the table).
fn normalise(sql: &str) -> String {
    let punctuation = |c: char| matches!(c, '(' | ')' | ',');
    let mut out = String::new();
    let mut chars = sql.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                while chars.next_if(|c| *c != '\n').is_some() {}
                space = true;
                continue;
            }
            '"' => continue,
            c if c.is_whitespace() => {
                space = true;
                continue;
            }
            _ => {}
        }
        if space && !out.is_empty() && !punctuation(c) && !out.ends_with(punctuation) {
            out.push(' ');
        }
        space = false;
        if c == '\'' {
            out.push(c);
            for c in chars.by_ref() {
                out.push(c);
                if c == '\'' {
                    break;
                }
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The message of the error `sql` fails with.
async fn refusal(pool: &AnyPool, sql: &str) -> String {
    match sqlx::query(sql).execute(pool).await {
        Ok(_) => panic!("accepted: {sql}"),
        Err(e) => e.to_string(),
    }
}

async fn count(pool: &AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[test]
fn table_sql_is_compared_without_layout_comments_or_quotes() {
    assert_eq!(
        normalise(
            "CREATE TABLE t (\n    id   TEXT PRIMARY KEY, -- the key's 'name'\n    \
             n BIGINT NOT NULL CHECK (n IN ('A', 'b c'))\n, m BIGINT NOT NULL DEFAULT 0)"
        ),
        normalise(
            "CREATE TABLE \"t\" (id TEXT PRIMARY KEY,\n n BIGINT NOT NULL CHECK (n IN ('A', \
             'b c')), m BIGINT NOT NULL DEFAULT 0\n)"
        ),
    );
    assert_eq!(
        normalise("CREATE TABLE t (a TEXT CHECK (a = 'A  B'))"),
        "create table t(a text check(a = 'A  B'))"
    );
    assert_ne!(
        normalise("CREATE TABLE t (a TEXT DEFAULT 'x')"),
        normalise("CREATE TABLE t (a TEXT DEFAULT 'X')")
    );
}

#[tokio::test]
async fn not_null_primary_keys_keep_every_row_index_trigger_and_reference() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at_0008(&dir).await;
    let pool = &store.pool;
    sqlx::raw_sql(ROWS).execute(pool).await.unwrap();
    let before = snapshot(pool).await;
    for (table, rows) in &before.rows {
        assert!(
            !rows.is_empty(),
            "{table} has no row for the migration to keep"
        );
    }
    assert!(before.rows.len() >= 28, "{:?}", before.rows.keys());
    // Before 0009 a NULL key is not what stops a row: the first NOT NULL column without a
    // default after it is.
    for (table, key) in REBUILT {
        let refused = refusal(pool, &format!("INSERT INTO {table} ({key}) VALUES (NULL)")).await;
        assert!(
            refused.contains("NOT NULL constraint failed")
                && !refused.contains(&format!("{table}.{key}")),
            "{table}: {refused}"
        );
    }

    // 0009 as `Store::migrate` applies it (a connection of its own, foreign keys off); the
    // migrations after it change tables of their own and add columns, which are not 0009's
    // to keep.
    let mut conn = pool.acquire().await.unwrap().detach();
    conn.execute("PRAGMA foreign_keys = OFF").await.unwrap();
    for migration in SQLITE_MIGRATIONS.iter().filter(|m| m.version == 9) {
        conn.apply(migration).await.unwrap();
    }
    conn.close().await.unwrap();
    assert_eq!(applied(pool).await, 9);
    let mut after = snapshot(pool).await;
    // What later migrations add in tables of their own is not 0009's to keep.
    let later: Vec<String> = after
        .rows
        .keys()
        .filter(|t| !before.rows.contains_key(*t))
        .cloned()
        .collect();
    after.rows.retain(|t, _| !later.contains(t));
    after.schema.retain(|_, (table, _)| !later.contains(table));

    // Every row of every table, unchanged.
    assert_eq!(before.rows, after.rows);
    // The same tables, indexes (automatic ones by the same names) and triggers.
    let gone: Vec<_> = before
        .schema
        .keys()
        .filter(|k| !after.schema.contains_key(k))
        .collect();
    let new: Vec<_> = after
        .schema
        .keys()
        .filter(|k| !before.schema.contains_key(k))
        .collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "gone: {gone:?}; new: {new:?}"
    );
    for (item, (table, sql)) in &before.schema {
        let (new_table, new_sql) = &after.schema[item];
        assert_eq!(table, new_table, "{item:?}");
        match REBUILT
            .iter()
            .find(|(t, _)| item == &("table".into(), t.to_string()))
        {
            // Each rebuilt table as it was, its key NOT NULL (the key is the first column).
            Some((_, key)) => {
                let (old, new) = (
                    normalise(sql.as_deref().unwrap()),
                    normalise(new_sql.as_deref().unwrap()),
                );
                let nullable = format!("({key} text primary key");
                assert!(old.contains(&nullable), "{old}");
                let expected =
                    old.replacen(&nullable, &format!("({key} text not null primary key"), 1);
                assert_eq!(new, expected, "{item:?}");
            }
            // Other tables, every index and every trigger, exactly as the migrations made them.
            None => assert_eq!(sql, new_sql, "{item:?}"),
        }
    }
    let triggers = before
        .schema
        .keys()
        .filter(|(kind, _)| kind == "trigger")
        .count();
    let indexes = before
        .schema
        .keys()
        .filter(|(kind, _)| kind == "index")
        .count();
    assert!(
        triggers >= 10 && indexes >= 50,
        "{triggers} triggers, {indexes} indexes"
    );

    // The database is sound, and its references hold.
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(integrity, ["ok"]);
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{} references broken", broken.len());

    // Pooled connections still enforce foreign keys: the migration's own connection, which
    // had them off, was closed. Each pool connection is asked.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = pool.acquire().await.unwrap();
        let on: i64 = sqlx::query_scalar("SELECT foreign_keys FROM pragma_foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(on, 1);
        held.push(conn);
    }
    drop(held);

    // Now a NULL key is refused, by the key.
    for (table, key) in REBUILT {
        let refused = refusal(pool, &format!("INSERT INTO {table} ({key}) VALUES (NULL)")).await;
        assert!(
            refused.contains(&format!("NOT NULL constraint failed: {table}.{key}")),
            "{table}: {refused}"
        );
    }
    // References into the rebuilt tables are checked, from a rebuilt table and from another.
    let refused = refusal(
        pool,
        "UPDATE members SET program_id = 'nowhere' WHERE id = 'm1'",
    )
    .await;
    assert!(
        refused.contains("FOREIGN KEY constraint failed"),
        "{refused}"
    );
    let refused = refusal(
        pool,
        "INSERT INTO card_events (program_id, member_id, wallet, event, created_at) \
         VALUES ('p1', 'nobody', 'apple', 'removed', 70)",
    )
    .await;
    assert!(
        refused.contains("FOREIGN KEY constraint failed"),
        "{refused}"
    );
    let refused = refusal(pool, "DELETE FROM members WHERE id = 'm1'").await;
    assert!(
        refused.contains("FOREIGN KEY constraint failed"),
        "{refused}"
    );
    // ... and their ON DELETE CASCADE still acts.
    for (parent, child, remaining) in [
        (
            "DELETE FROM programs WHERE id = 'p2'",
            "SELECT COUNT(*) FROM program_images",
            1,
        ),
        (
            "DELETE FROM apple_devices WHERE device_library_id = 'dev2'",
            "SELECT COUNT(*) FROM apple_registrations",
            1,
        ),
        (
            "DELETE FROM webhook_events WHERE id = 'ev2'",
            "SELECT COUNT(*) FROM webhook_deliveries",
            1,
        ),
        (
            "DELETE FROM campaigns WHERE id = 'c2'",
            "SELECT COUNT(*) FROM campaign_members",
            1,
        ),
    ] {
        assert_eq!(count(pool, child).await, 2, "{child}");
        sqlx::query(parent).execute(pool).await.unwrap();
        assert_eq!(
            count(pool, child).await,
            remaining,
            "after {parent}: {child}"
        );
    }
    store.close().await;
}

#[tokio::test]
async fn a_null_key_stops_the_migration_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at_0008(&dir).await;
    let pool = &store.pool;
    sqlx::raw_sql(ROWS).execute(pool).await.unwrap();
    // What SQLite took before 0009.
    sqlx::query("INSERT INTO service_secrets (name, value, created_at) VALUES (NULL, 'v', 1)")
        .execute(pool)
        .await
        .unwrap();
    let before = snapshot(pool).await;

    let failed = format!("{:#}", store.migrate().await.unwrap_err());
    assert!(
        failed.contains("NOT NULL constraint failed: service_secrets_new.name"),
        "{failed}"
    );
    assert_eq!(applied(pool).await, 8);
    assert_eq!(snapshot(pool).await, before);
    store.close().await;
}

#[tokio::test]
async fn the_rebuild_refuses_to_run_with_foreign_keys_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at_0008(&dir).await;
    let pool = &store.pool;
    sqlx::raw_sql(ROWS).execute(pool).await.unwrap();
    let before = snapshot(pool).await;

    // As a runner that keeps foreign keys on would apply it (sqlx's own command does): its
    // DROP TABLEs would delete the program images, registrations, deliveries and campaign
    // members that reference the dropped rows ON DELETE CASCADE.
    let mut conn = pool.acquire().await.unwrap();
    let rebuild = SQLITE_MIGRATIONS.iter().find(|m| m.version == 9).unwrap();
    let refused = conn.apply(rebuild).await.unwrap_err().to_string();
    drop(conn);
    assert!(
        refused.contains("0009 must run with PRAGMA foreign_keys = OFF"),
        "{refused}"
    );
    assert_eq!(applied(pool).await, 8);
    assert_eq!(snapshot(pool).await, before);
    store.close().await;
}
