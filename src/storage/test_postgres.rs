//! PostgreSQL databases for the storage module's own tests.

use sqlx::Executor;

use super::Store;

/// A fresh database on the server the tests are given (as the API tests are):
/// (the server's admin URL, the new database's URL). `None`, said loudly, when there is no
/// server; a failure when `PASSWRIGHT_TEST_REQUIRE` names postgres.
pub(super) async fn database(test: &str) -> Option<(String, String)> {
    let Some(admin) = std::env::var("PASSWRIGHT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        let required = std::env::var("PASSWRIGHT_TEST_REQUIRE")
            .is_ok_and(|r| r.split(',').any(|x| x.trim() == "postgres"));
        assert!(
            !required,
            "postgres is required: set PASSWRIGHT_TEST_POSTGRES_URL"
        );
        eprintln!("SKIPPED {test} PostgreSQL test: set PASSWRIGHT_TEST_POSTGRES_URL");
        return None;
    };
    let name = format!(
        "pw_test_{}",
        crate::domain::ids::random_base32(&crate::clock::OsRandom, 8)
    );
    on_server(&admin, &format!("CREATE DATABASE {name}")).await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some((admin.clone(), format!("{base}/{name}")))
}

/// Closes `store` and drops the database at `url` that [`database`] made.
pub(super) async fn remove(store: Store, admin: &str, url: &str) {
    store.pool.close().await;
    let name = url.rsplit('/').next().unwrap_or(url);
    on_server(admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
}

/// Runs `sql` on the PostgreSQL server `admin` names, outside any test database.
async fn on_server(admin: &str, sql: &str) {
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin)
        .await
        .unwrap();
    conn.execute(sql).await.unwrap();
}
