//! The batch's own tests: placeholders, literals, and values round-tripped through a real
//! PostgreSQL.

use sqlx::{Executor, Row};

use super::{inline, renumber, Arg, Batch};
use crate::storage::{test_postgres, Engine, Store};

#[test]
fn arguments_are_written_in_as_typed_literals() {
    let args = vec![
        Arg::from(-5),
        Arg::from("it's"),
        Arg::Int(None),
        Arg::Text(None),
        Arg::from(i64::MIN),
    ];
    assert_eq!(
        inline("SELECT $1, $2, $3, $4, $5, $1", &args).unwrap(),
        "SELECT '-5'::int8, E'it''s'::text, NULL::int8, NULL::text, \
         '-9223372036854775808'::int8, '-5'::int8"
    );
}

#[test]
fn no_value_can_end_its_literal() {
    // Every quote and backslash doubled: inside E'…' the value is one literal.
    let value = "a' \\' \\x41 '); DROP TABLE t; -- $1 \u{1F600}";
    let written = inline("SELECT $1", &[Arg::from(value)]).unwrap();
    assert_eq!(
        written,
        "SELECT E'a'' \\\\'' \\\\x41 ''); DROP TABLE t; -- $1 \u{1F600}'::text"
    );
    // Read back the way PostgreSQL reads an escape string, it is the value again.
    let body = &written["SELECT E'".len()..written.len() - "'::text".len()];
    let mut read = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '\\' => {
                assert_eq!(chars.next(), Some(c), "a lone {c} would end or escape");
                read.push(c);
            }
            c => read.push(c),
        }
    }
    assert_eq!(read, value);
}

#[test]
fn nul_and_missing_arguments_are_refused() {
    assert!(inline("SELECT $1", &[Arg::from("a\0b")]).is_err());
    assert!(inline("SELECT $2", &[Arg::from(1)]).is_err());
    assert!(inline("SELECT $0", &[Arg::from(1)]).is_err());
    // A `$` not followed by digits is not a placeholder.
    assert_eq!(inline("SELECT '$'", &[]).unwrap(), "SELECT '$'");
}

#[test]
fn placeholders_are_shifted_past_the_earlier_statements() {
    assert_eq!(renumber("SELECT $1, $2", 0), "SELECT $1, $2");
    assert_eq!(
        renumber("UPDATE t SET a = $1 WHERE b = $12 AND c = $2", 3),
        "UPDATE t SET a = $4 WHERE b = $15 AND c = $5"
    );
    assert_eq!(renumber("SELECT '$', $1", 2), "SELECT '$', $3");
}

/// The generator's seed: a failure names it, and the same values come again.
const SEED: u64 = 0x7061_7373_7772_6974;

/// splitmix64.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// What could end a literal, start an escape, a placeholder, a dollar quote, a comment or
/// another statement, or trip up an encoding.
const PIECES: &[&str] = &[
    "'",
    "''",
    "'''",
    "\\",
    "\\\\",
    "\\'",
    "'\\",
    "\\x41",
    "\\u0041",
    "\\U00000041",
    "\\n",
    "\\0",
    "\\000",
    "E'",
    "e'",
    "U&'",
    "'::int8",
    "'::text",
    "$",
    "$$",
    "$1",
    "$2",
    "$0",
    "$99",
    "$18446744073709551616",
    "$a$",
    "$$;",
    "$1$",
    ";",
    ";\nSELECT 1; --",
    "--",
    "/*",
    "*/",
    "/* '",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "%",
    "_",
    "\"",
    "`",
    "?",
    ":1",
    "é",
    "ß",
    "日本語",
    "😀",
    "👨\u{200D}👩\u{200D}👧",
    "e\u{301}",
    "a\u{302}\u{330}",
    "\u{202E}",
    "\u{200F}",
    "שלום",
    "مرحبا",
    "\u{FEFF}",
    "\u{FFFD}",
    "\u{7F}",
    "\u{1}",
    "\u{1B}",
    "\u{1F}",
    "\u{85}",
    "\u{2028}",
    "\u{FFFF}",
    "\u{10FFFF}",
    "NULL",
    "null",
    "DROP TABLE roundtrip",
    "x",
];

/// Any character but NUL, most often ASCII or two bytes long.
fn any_char(r: &mut Random) -> char {
    loop {
        let n = match r.below(4) {
            0 | 1 => r.below(0x80),
            2 => r.below(0x800),
            _ => r.below(0x11_0000),
        };
        if let Some(c) = char::from_u32(n as u32).filter(|c| *c != '\0') {
            return c;
        }
    }
}

fn text(r: &mut Random) -> String {
    let mut s = String::new();
    let pieces = match r.below(100) {
        0..=4 => return s,
        // Long: tens of thousands of pieces.
        5 => 10_000 + r.below(50_000),
        _ => r.below(16),
    };
    for _ in 0..pieces {
        if r.below(3) == 0 {
            s.push(any_char(r));
        } else {
            s.push_str(r.pick(PIECES));
        }
    }
    s
}

fn int(r: &mut Random) -> i64 {
    match r.below(8) {
        0 => r.pick(&[i64::MIN, i64::MAX, 0, -1, 1, i64::MIN + 1, i64::MAX - 1]),
        1 => -(r.below(1000) as i64),
        2 => r.below(1000) as i64,
        _ => r.next() as i64,
    }
}

fn arg(r: &mut Random) -> Arg {
    match r.below(12) {
        0 => Arg::Int(None),
        1 => Arg::Text(None),
        2..=4 => Arg::Int(Some(int(r))),
        _ => Arg::Text(Some(text(r))),
    }
}

/// A value for a failure message, a long one cut short.
fn shown(arg: &Arg) -> String {
    let s = format!("{arg:?}");
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}… ({} chars)", &s[..i], s.chars().count()),
        None => s,
    }
}

/// Column `column` of `row`, read as the type of `like`.
fn read(row: &sqlx::any::AnyRow, column: usize, like: &Arg) -> Arg {
    match like {
        Arg::Int(_) => Arg::Int(row.try_get(column).unwrap()),
        Arg::Text(_) => Arg::Text(row.try_get(column).unwrap()),
    }
}

/// The same value, byte for byte (NULL only as NULL).
fn same(a: &Arg, b: &Arg) -> bool {
    match (a, b) {
        (Arg::Int(a), Arg::Int(b)) => a == b,
        (Arg::Text(a), Arg::Text(b)) => {
            a.as_deref().map(str::as_bytes) == b.as_deref().map(str::as_bytes)
        }
        _ => false,
    }
}

/// Random values written into PostgreSQL batches as literals come back exactly as they
/// were, selected or stored, in batches run as the store runs them: reads through `run`,
/// writes after `BEGIN` through `run_after`. Text with NUL is still refused.
#[tokio::test]
async fn postgres_literals_round_trip_random_values() {
    sqlx::any::install_default_drivers();
    let Some((admin, url)) = test_postgres::database("storage::batch").await else {
        return;
    };
    let store = Store::connect(&url, 1).await.unwrap();
    store
        .pool
        .execute("CREATE TABLE roundtrip (n BIGINT PRIMARY KEY, t TEXT, i BIGINT)")
        .await
        .unwrap();
    let mut conn = store.pool.acquire().await.unwrap();
    let mut r = Random(SEED);
    let (mut values, mut stored) = (0, Vec::new());
    for b in 0..200 {
        let writes = b % 2 == 1;
        let mut batch = Batch::new();
        // Each statement's step, with the values its one row must hold.
        let mut expected = Vec::new();
        for _ in 0..1 + r.below(10) {
            let (sql, args, returned) = if writes && r.below(2) == 0 {
                let t = match r.below(6) {
                    0 => Arg::Text(None),
                    _ => Arg::Text(Some(text(&mut r))),
                };
                let i = match r.below(5) {
                    0 => Arg::Int(None),
                    _ => Arg::Int(Some(int(&mut r))),
                };
                let row = vec![Arg::from(stored.len() as i64), t, i];
                stored.push(row.clone());
                let returned = vec![row[1].clone(), row[2].clone(), row[0].clone()];
                let sql = "INSERT INTO roundtrip (n, t, i) VALUES ($1, $2, $3) RETURNING t, i, n";
                (sql.to_string(), row, returned)
            } else {
                let args: Vec<Arg> = (0..1 + r.below(8)).map(|_| arg(&mut r)).collect();
                // Each placeholder once, bare or cast to the type sqlx binds it as, and
                // the first once more at the end.
                let cast = r.below(2) == 0;
                let mut columns: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| match (cast, a) {
                        (false, _) => format!("${}", i + 1),
                        (true, Arg::Int(_)) => format!("${}::bigint", i + 1),
                        (true, Arg::Text(_)) => format!("${}::text", i + 1),
                    })
                    .collect();
                columns.push("$1".to_string());
                let mut returned = args.clone();
                returned.push(args[0].clone());
                (format!("SELECT {}", columns.join(", ")), args, returned)
            };
            values += args.len();
            expected.push((batch.push(sql, args), returned));
        }
        let results = if writes {
            let results = batch
                .run_after(&["BEGIN"], &mut conn, Engine::Postgres)
                .await
                .map_err(|f| f.error);
            conn.execute("COMMIT").await.unwrap();
            results
        } else {
            batch.run(&mut conn, Engine::Postgres).await
        };
        let results =
            results.unwrap_or_else(|e| panic!("seed {SEED:#x}, batch {b}: the batch failed: {e}"));
        for (s, (step, returned)) in expected.iter().enumerate() {
            let rows = results.rows(*step);
            assert_eq!(rows.len(), 1, "seed {SEED:#x}, batch {b}, statement {s}");
            for (c, want) in returned.iter().enumerate() {
                let got = read(&rows[0], c, want);
                assert!(
                    same(&got, want),
                    "seed {SEED:#x}, batch {b}, statement {s}, column {c}: \
                     wrote {}, read {}",
                    shown(want),
                    shown(&got)
                );
            }
        }
    }
    assert!(values >= 3_000, "only {values} values");
    // What the batches stored, read back through bound parameters instead.
    let rows = sqlx::query("SELECT n, t, i FROM roundtrip ORDER BY n")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), stored.len(), "seed {SEED:#x}");
    for (row, want) in rows.iter().zip(&stored) {
        for (c, want) in want.iter().enumerate() {
            let got = read(row, c, want);
            assert!(
                same(&got, want),
                "seed {SEED:#x}, stored row, column {c}: wrote {}, read {}",
                shown(want),
                shown(&got)
            );
        }
    }

    // Text with NUL is refused before anything is sent: the batch's other statements,
    // before and after it, do not run.
    for value in ["\0", "a\0b", "it's\\\0", "\0'; DELETE FROM roundtrip; --"] {
        let mut batch = Batch::new();
        batch.push("DELETE FROM roundtrip", Vec::new());
        batch.push("SELECT $1, $2", vec![Arg::from(1), Arg::from(value)]);
        batch.push("INSERT INTO roundtrip (n) VALUES (-1)", Vec::new());
        let refused = batch.run(&mut conn, Engine::Postgres).await;
        let error = refused
            .err()
            .unwrap_or_else(|| panic!("{value:?} was sent"));
        assert!(error.to_string().contains("NUL"), "{error}");
        let mut batch = Batch::new();
        batch.push("DELETE FROM roundtrip", Vec::new());
        batch.push("SELECT $1", vec![Arg::from(value)]);
        let refused = batch
            .run_after(&["BEGIN"], &mut conn, Engine::Postgres)
            .await;
        assert_eq!(refused.err().map(|f| f.lead_ran), Some(0));
    }
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roundtrip WHERE n >= 0")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(kept, stored.len() as i64);
    let inserted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roundtrip WHERE n < 0")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(inserted, 0);
    drop(conn);
    test_postgres::remove(store, &admin, &url).await;
}
