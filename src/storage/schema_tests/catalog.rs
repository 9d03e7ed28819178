//! Each engine's catalog read into a [`Schema`]: tables, columns, keys, indexes, foreign keys
//! and triggers, in the words [`differences`] compares.

use sqlx::{AnyPool, Row};

use super::*;

pub(super) async fn sqlite_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut primary_keys = BTreeMap::new();
    for table in &tables {
        let rows = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
        let mut key: Vec<(i64, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.get(3),
                    r.get(0),
                    r.get::<String, _>(1).to_ascii_uppercase(),
                )
            })
            .filter(|(pk, _, _)| *pk > 0)
            .collect();
        key.sort();
        // An INTEGER PRIMARY KEY is the rowid, which is never NULL (a NULL inserted there
        // is replaced by a new rowid), though SQLite reports the column nullable. Any other
        // primary key column SQLite lets hold NULL unless it says NOT NULL.
        let rowid = match key.as_slice() {
            [(_, name, declared)] if declared == "INTEGER" => Some(name.clone()),
            _ => None,
        };
        for r in &rows {
            let name: String = r.get(0);
            let not_null = r.get::<i64, _>(2) != 0 || rowid.as_ref() == Some(&name);
            let family = sqlite_family(&r.get::<String, _>(1));
            schema.add(table, format!("column {name}"), column(family, not_null));
        }
        let key: Vec<String> = key.into_iter().map(|(_, name, _)| name).collect();
        if !key.is_empty() {
            schema.add(table, "primary key".into(), format!("({})", key.join(", ")));
        }
        primary_keys.insert(table.clone(), key);
        schema.tables.insert(table.clone());
    }
    for table in &tables {
        let indexes =
            sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap();
        for r in &indexes {
            let (name, unique, origin, partial): (String, i64, String, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            // The primary key's own index; the key itself is compared above.
            if origin == "pk" {
                continue;
            }
            let names: Vec<Option<String>> = sqlx::query_scalar(
                "SELECT name FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno",
            )
            .bind(&name)
            .fetch_all(pool)
            .await
            .unwrap();
            // NULL for the indexes UNIQUE constraints make, which have plain columns only.
            let sql: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1",
            )
            .bind(&name)
            .fetch_one(pool)
            .await
            .unwrap();
            let (written, predicate) = sql.as_deref().map_or((Vec::new(), None), index_parts);
            let columns: Vec<String> = names
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    // An expression: its text as the index's statement wrote it.
                    n.unwrap_or_else(|| written.get(i).cloned().expect("an expression's text"))
                })
                .collect();
            assert_eq!(partial != 0, predicate.is_some(), "the predicate of {name}");
            schema.add(
                table,
                index(&columns),
                index_description(unique != 0, predicate.as_deref()),
            );
        }
        let keys = sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for r in &keys {
            let key = by_id.entry(r.get(0)).or_insert_with(|| ForeignKey {
                table: table.clone(),
                references: r.get(1),
                on_update: r.get(4),
                on_delete: r.get(5),
                ..ForeignKey::default()
            });
            key.columns.push(r.get(2));
            if let Some(to) = r.get::<Option<String>, _>(3) {
                key.referenced.push(to);
            }
        }
        for mut key in by_id.into_values() {
            if key.referenced.is_empty() {
                // `REFERENCES t` alone: t's primary key.
                key.referenced = primary_keys
                    .get(&key.references)
                    .cloned()
                    .unwrap_or_default();
            }
            key.add_to(&mut schema);
        }
    }
    let triggers = sqlx::query("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        .fetch_all(pool)
        .await
        .unwrap();
    for r in &triggers {
        let table: String = r.get(0);
        let (timing, event) = trigger_parts(&r.get::<String, _>(1));
        // SQLite has row triggers only.
        schema.add(
            &table,
            format!("trigger {timing} {event}"),
            "FOR EACH ROW".into(),
        );
    }
    schema
}

pub(super) async fn postgres_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.tables.extend(tables);
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for r in &columns {
        let (table, name, udt, nullable): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let d = column(postgres_family(&udt), nullable == "NO");
        schema.add(&table, format!("column {name}"), d);
    }
    let keys = sqlx::query(
        "SELECT k.table_name::text, k.column_name::text \
         FROM information_schema.table_constraints c \
         JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema \
             AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name \
         WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public' \
             AND c.table_name <> '_sqlx_migrations' \
         ORDER BY 1, k.ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut primary_keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &keys {
        primary_keys.entry(r.get(0)).or_default().push(r.get(1));
    }
    for (table, key) in &primary_keys {
        schema.add(table, "primary key".into(), format!("({})", key.join(", ")));
    }
    // One row per key column of each index but the primary keys' (compared above).
    let indexes = sqlx::query(
        "SELECT t.relname::text, i.relname::text, x.indisunique, \
             pg_get_indexdef(x.indexrelid, k.n, true), pg_get_expr(x.indpred, x.indrelid, true) \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         CROSS JOIN LATERAL generate_series(1, x.indnkeyatts::int4) AS k(n) \
         WHERE ns.nspname = 'public' AND NOT x.indisprimary AND t.relname <> '_sqlx_migrations' \
         ORDER BY 2, k.n",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut by_name: BTreeMap<String, (String, bool, Vec<String>, Option<String>)> =
        BTreeMap::new();
    for r in &indexes {
        let entry = by_name
            .entry(r.get(1))
            .or_insert_with(|| (r.get(0), r.get(2), Vec::new(), r.get(4)));
        entry.2.push(r.get(3));
    }
    for (table, unique, columns, predicate) in by_name.into_values() {
        schema.add(
            &table,
            index(&columns),
            index_description(unique, predicate.as_deref()),
        );
    }
    // pg_constraint pairs each column with the one it references, in order.
    let foreign = sqlx::query(
        "SELECT c.oid::int8, t.relname::text, r.relname::text, a.attname::text, ra.attname::text, \
             c.confupdtype::text, c.confdeltype::text \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, refcol, n) \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col \
         JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refcol \
         WHERE c.contype = 'f' AND ns.nspname = 'public' \
         ORDER BY 1, k.n",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let action = |code: String| match code.as_str() {
        "a" => "NO ACTION".to_string(),
        "r" => "RESTRICT".to_string(),
        "c" => "CASCADE".to_string(),
        "n" => "SET NULL".to_string(),
        "d" => "SET DEFAULT".to_string(),
        other => format!("({other})"),
    };
    let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for r in &foreign {
        let key = by_id.entry(r.get(0)).or_insert_with(|| ForeignKey {
            table: r.get(1),
            references: r.get(2),
            on_update: action(r.get(5)),
            on_delete: action(r.get(6)),
            ..ForeignKey::default()
        });
        key.columns.push(r.get(3));
        key.referenced.push(r.get(4));
    }
    for key in by_id.into_values() {
        key.add_to(&mut schema);
    }
    // One row per event of each trigger.
    let triggers = sqlx::query(
        "SELECT event_object_table::text, action_timing::text, event_manipulation::text, \
             action_orientation::text \
         FROM information_schema.triggers WHERE trigger_schema = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for r in &triggers {
        let (table, timing, event, each): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        schema.add(
            &table,
            format!("trigger {timing} {event}"),
            format!("FOR EACH {each}"),
        );
    }
    schema
}
