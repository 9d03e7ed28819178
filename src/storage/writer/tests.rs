//! The writer's own tests: group commit, turns abandoned or cut off and their repair, the
//! write-ahead log emptied at shutdown, and PostgreSQL transactions that never reach the pool
//! still open.

use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::Executor;

use super::Writer;
use crate::storage::{test_postgres, Store};

async fn store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}/w.db", dir.path().display());
    let store = Store::connect(&url, 4).await.unwrap();
    store
        .pool
        .execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        .await
        .unwrap();
    store
}

async fn keys(store: &Store) -> Vec<i64> {
    sqlx::query_scalar("SELECT k FROM t ORDER BY k")
        .fetch_all(&store.pool)
        .await
        .unwrap()
}

async fn insert(conn: &mut sqlx::AnyConnection, k: i64) {
    sqlx::query("INSERT INTO t (k) VALUES ($1)")
        .bind(k)
        .execute(conn)
        .await
        .unwrap();
}

/// Waits until `n` turns are queued for the writer.
async fn queued(store: &Store, n: usize) {
    let shared = store.writer.as_ref().unwrap();
    while shared.waiting.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn commits(store: &Store) -> u64 {
    store
        .write_counts()
        .unwrap()
        .commits
        .load(Ordering::Relaxed)
}

/// A turn that has inserted `k` and kept it, still holding the writer.
async fn holding(store: &Store, k: i64) -> Writer {
    let mut writer = store.writer().await.unwrap();
    let mut tx = writer.begin().await.unwrap();
    insert(&mut tx, k).await;
    tx.commit().await.unwrap();
    writer
}

/// A turn that inserts `k` and keeps it (or rolls it back), in a task of its own.
fn spawn_turn(store: &Store, k: i64, keep: bool) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut writer = store.writer().await.unwrap();
        let mut tx = writer.begin().await.unwrap();
        insert(&mut tx, k).await;
        if keep {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        writer.finish().await.unwrap();
        // Durable and visible to every connection once finished.
        assert_eq!(keys(&store).await.contains(&k), keep);
    })
}

#[tokio::test]
async fn turns_queued_together_share_one_commit_and_refusals_undo_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let first = holding(&store, 1).await;
    let others: Vec<_> = (2..=11).map(|k| spawn_turn(&store, k, k != 5)).collect();
    queued(&store, 10).await;
    let before = commits(&store);
    first.finish().await.unwrap();
    for t in others {
        t.await.unwrap();
    }
    assert_eq!(
        commits(&store) - before,
        1,
        "one COMMIT for the eleven turns"
    );
    assert_eq!(keys(&store).await, vec![1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    let w = store.write_counts().unwrap();
    assert_eq!(w.turns.load(Ordering::Relaxed), 11);
}

/// After a clean stop the database file alone holds every write: an operator who copies
/// it (without the `-wal` file beside it) has everything.
#[tokio::test]
async fn closing_leaves_every_write_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let turns: Vec<_> = (1..=20).map(|k| spawn_turn(&store, k, true)).collect();
    for t in turns {
        t.await.unwrap();
    }
    let wal = dir.path().join("w.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) > 0,
        "the writes went through the write-ahead log"
    );
    store.close().await;
    assert_eq!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()),
        0,
        "the log was emptied into the database file"
    );
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("w.db"), copy.path().join("w.db")).unwrap();
    let url = format!("sqlite://{}/w.db", copy.path().display());
    let copied = Store::connect(&url, 1).await.unwrap();
    assert_eq!(keys(&copied).await, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_turn_alone_commits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    spawn_turn(&store, 1, true).await.unwrap();
    spawn_turn(&store, 2, true).await.unwrap();
    assert_eq!(commits(&store), 2);
}

#[tokio::test]
async fn an_abandoned_turn_is_undone_and_its_group_still_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let first = holding(&store, 1).await;
    // Inserts 2, then its caller gives up (an early return, a dropped request).
    let abandoned = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut writer = store.writer().await.unwrap();
            let mut tx = writer.begin().await.unwrap();
            insert(&mut tx, 2).await;
        })
    };
    queued(&store, 1).await;
    let waiting = tokio::spawn(async move { first.finish().await });
    abandoned.await.unwrap();
    waiting.await.unwrap().unwrap();
    spawn_turn(&store, 3, true).await.unwrap();
    assert_eq!(keys(&store).await, vec![1, 3]);
    // No transaction was left open: another connection writes without waiting.
    tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("INSERT INTO t (k) VALUES (4)").execute(&store.pool),
    )
    .await
    .expect("the write lock is free")
    .unwrap();
}

#[tokio::test]
async fn a_turn_cut_off_on_its_way_is_undone_and_its_group_still_commits() {
    use futures_util::FutureExt;

    use crate::storage::batch::Batch;

    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let first = holding(&store, 1).await;
    let cut = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut writer = store.writer().await.unwrap();
            let mut batch = Batch::new();
            batch.push("INSERT INTO t (k) VALUES (2)", Vec::new());
            batch.push(
                "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000000) \
                 SELECT COUNT(*) FROM c",
                Vec::new(),
            );
            // Polled once, then its caller goes away with the batch under way.
            assert!(writer.begin_with(batch).now_or_never().is_none());
        })
    };
    queued(&store, 1).await;
    let waiting = tokio::spawn(async move { first.finish().await });
    cut.await.unwrap();
    waiting.await.unwrap().unwrap();
    spawn_turn(&store, 3, true).await.unwrap();
    spawn_turn(&store, 4, false).await.unwrap();
    assert_eq!(keys(&store).await, vec![1, 3]);
}

/// Whichever of a cut-off trip's statements ran, the turn's own work is undone, the
/// others' kept, and the next turns find the savepoints they expect.
#[tokio::test]
async fn every_way_a_trip_can_stop_is_repaired_exactly() {
    use super::sqlite::{Repair, NAMES};

    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let shared = store.writer.as_ref().unwrap().clone();
    // What ran of "RELEASE <before>; SAVEPOINT <name>; INSERT": nothing, the release, the
    // savepoint, all three.
    for (ran, k) in [(0, 10), (1, 20), (2, 30), (3, 40)] {
        let mut first = holding(&store, k).await;
        let Writer::Own(turn) = &mut first else {
            panic!("SQLite has a writer turn")
        };
        let before = turn.line.open.as_ref().unwrap().top;
        let name = if before == NAMES[0] {
            NAMES[1]
        } else {
            NAMES[0]
        };
        let statements = [
            format!("RELEASE {before}"),
            format!("SAVEPOINT {name}"),
            format!("INSERT INTO t (k) VALUES ({})", k + 1),
        ];
        for sql in &statements[..ran] {
            turn.line.conn.execute(sql.as_str()).await.unwrap();
        }
        turn.line
            .repair(Repair::Cut {
                name,
                opening: false,
            })
            .await;
        assert!(!turn.line.open.as_ref().unwrap().broken, "{ran}");
        drop(first);
        // The next turns carry on in the same group or a new one.
        spawn_turn(&store, k + 2, true).await.unwrap();
        spawn_turn(&store, k + 3, false).await.unwrap();
        let keys = keys(&store).await;
        assert!(
            keys.contains(&k) && keys.contains(&(k + 2)),
            "{ran}: {keys:?}"
        );
        assert!(
            !keys.contains(&(k + 1)) && !keys.contains(&(k + 3)),
            "{ran}: {keys:?}"
        );
    }
    assert_eq!(shared.waiting.load(Ordering::SeqCst), 0);
}

/// On PostgreSQL `BEGIN` rides with the first batch and the transaction is not sqlx's:
/// one dropped half way, or failed, must never reach the pool still open.
#[tokio::test]
async fn postgres_transactions_left_open_never_reach_the_pool() {
    sqlx::any::install_default_drivers();
    let Some((admin, url)) = test_postgres::database("storage::writer").await else {
        return;
    };
    let store = Store::connect(&url, 2).await.unwrap();
    store
        .pool
        .execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    let insert = |k: i64| {
        let mut batch = super::Batch::new();
        batch.push(
            "INSERT INTO t (k, v) VALUES ($1, $2) RETURNING k",
            vec![k.into(), "it's \\ $1".into()],
        );
        let count = batch.push("SELECT COUNT(*) FROM t", Vec::new());
        (batch, count)
    };
    // Dropped without commit.
    {
        let mut w = store.writer().await.unwrap();
        let (batch, count) = insert(1);
        let (_tx, results) = w.begin_with(batch).await.unwrap();
        assert_eq!(results.rows(count).len(), 1);
    }
    // Failed half way: the second statement breaks the first one's key.
    {
        let mut w = store.writer().await.unwrap();
        let mut batch = super::Batch::new();
        batch.push("INSERT INTO t (k) VALUES (7)", Vec::new());
        batch.push("INSERT INTO t (k) VALUES (7)", Vec::new());
        assert!(w.begin_with(batch).await.is_err());
    }
    // Committed; the rows of each statement come back apart, the text as written.
    {
        let mut w = store.writer().await.unwrap();
        let (batch, count) = insert(2);
        let (tx, results) = w.begin_with(batch).await.unwrap();
        let n: i64 = sqlx::Row::try_get(&results.rows(count)[0], 0).unwrap();
        assert_eq!(n, 1);
        tx.commit().await.unwrap();
        w.finish().await.unwrap();
    }
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT k, v FROM t ORDER BY k")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![(2, "it's \\ $1".to_string())]);
    // No connection of the pool, nor any other, sits in a transaction.
    let db = url.rsplit('/').next().unwrap().to_string();
    let mut open = -1;
    for _ in 0..100 {
        open = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 \
             AND state LIKE 'idle in transaction%'",
        )
        .bind(&db)
        .fetch_one(&store.pool)
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0, "a connection was left in a transaction");
    test_postgres::remove(store, &admin, &url).await;
}
