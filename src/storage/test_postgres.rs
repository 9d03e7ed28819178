//! The one PostgreSQL harness of the tests: the storage module's own tests and the
//! integration tests (`tests/api`) make their databases here. Not used by the service; public
//! only so the integration tests can reach it.
//!
//! Tests run on PostgreSQL where `PASSWRIGHT_TEST_POSTGRES_URL` names a server (as in CI).
//! Without it they skip, loudly, unless `PASSWRIGHT_TEST_REQUIRE` names `postgres`: then a
//! missing server fails the test.

use std::sync::OnceLock;

use sqlx::Executor;

use super::Store;

/// The server's admin URL, from `PASSWRIGHT_TEST_POSTGRES_URL`.
pub fn admin_url() -> Option<String> {
    std::env::var("PASSWRIGHT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// True when `PASSWRIGHT_TEST_REQUIRE` names `postgres` (or `all`).
pub fn required() -> bool {
    std::env::var("PASSWRIGHT_TEST_REQUIRE")
        .is_ok_and(|r| r.split(',').any(|x| matches!(x.trim(), "postgres" | "all")))
}

/// A fresh database on the configured server: (the server's admin URL, the new database's
/// URL). `None` when no server is configured; see [`database`] for the loud version.
pub async fn new_database() -> Option<(String, String)> {
    let admin = admin_url()?;
    drop_stale_databases(&admin).await;
    let name = format!(
        "pw_test_{}",
        crate::domain::ids::random_base32(&crate::clock::OsRandom, 8)
    );
    on_server(&admin, &format!("CREATE DATABASE {name}")).await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some((admin.clone(), format!("{base}/{name}")))
}

/// [`new_database`] for `test`: without a server it says so loudly and returns `None`, or
/// fails when PostgreSQL is required.
pub async fn database(test: &str) -> Option<(String, String)> {
    let made = new_database().await;
    if made.is_none() {
        skipped(test);
    }
    made
}

/// Says that `test` did not run on PostgreSQL, or fails when it is required.
pub fn skipped(test: &str) {
    let how = "set PASSWRIGHT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres";
    assert!(
        !required(),
        "{test}: postgres is required (PASSWRIGHT_TEST_REQUIRE) but not configured: {how}"
    );
    // Straight to the stderr handle: the test harness captures eprintln! of passing tests.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: postgres not configured ({how}) ***\n"
    );
}

/// Closes `store` and drops the database at `url` that [`database`] made.
pub async fn remove(store: Store, admin: &str, url: &str) {
    store.pool.close().await;
    let name = url.rsplit('/').next().unwrap_or(url);
    on_server(admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
}

/// Runs `sql` on the PostgreSQL server `admin` names, outside any test database.
async fn on_server(admin: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL server: {e}"));
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A test that ends while its app still uses its database leaves it behind. Once per test
/// process, databases of earlier runs go: those made over an hour ago that nobody is
/// connected to, so no test still running loses its own. The age is that of the database's
/// `PG_VERSION` file; without the right to read it (not a superuser), nothing is dropped.
async fn drop_stale_databases(admin: &str) {
    static ONCE: OnceLock<()> = OnceLock::new();
    if ONCE.set(()).is_err() {
        return;
    }
    sqlx::any::install_default_drivers();
    let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(admin).await else {
        return;
    };
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT d.datname::text FROM pg_database d WHERE left(d.datname, 8) = 'pw_test_' \
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid) \
         AND (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification \
             < now() - interval '1 hour'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for name in stale {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
            .await;
    }
}
