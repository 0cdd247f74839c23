//! No pooled connection goes back into the pool still inside a transaction.
//!
//! SQLite rolls a whole transaction back by itself on some errors (`SQLITE_FULL` —
//! a full disk —, `SQLITE_IOERR`, `SQLITE_NOMEM`; sqlite.org/lang_transaction.html).
//! sqlx does not notice: the `ROLLBACK` it sends when the `Transaction` is dropped
//! fails ("no transaction is active") and its transaction depth stays at 1. The next
//! transaction on that connection then begins with `SAVEPOINT` instead of `BEGIN`, and
//! once one of those is rolled back (`ROLLBACK TO` keeps the transaction open) every
//! later "commit" on the connection only releases a savepoint: requests are
//! acknowledged, readable through that connection, and lost at the next crash, while
//! every other connection waits for the write lock. The chaos campaign found it
//! (docs/CHAOS.md, disk full). A connection returned with any transaction depth left,
//! once its queued rollback has run, is closed instead of reused; closing it ends
//! whatever SQLite still had open.

use sqlx::Connection;
use sqlx::SqliteConnection;
use sqlx::pool::PoolConnectionMetadata;

/// `after_release` hook: `Ok(false)` closes the connection.
pub fn clean_on_release(
    conn: &mut SqliteConnection,
    _meta: PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        // Runs the rollback a dropped `Transaction` queued, so the depth is current.
        conn.ping().await?;
        if conn.is_in_transaction() {
            tracing::warn!(
                "store connection left inside a transaction (SQLite rolled it back by itself after an error); closing it"
            );
            return Ok(false);
        }
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use sqlx::Row;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;

    use super::*;

    /// A transaction SQLite cancels by itself (here `SQLITE_FULL` from a page limit, as a
    /// full disk gives) must not swallow the commits that follow on the same connection.
    #[tokio::test]
    async fn commits_after_an_automatic_rollback_are_durable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let opts = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        // One connection, so every step below runs on the same one.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(clean_on_release)
            .connect_with(opts.clone())
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x TEXT)").execute(&pool).await.unwrap();
        let pages: i64 = sqlx::query("PRAGMA page_count").fetch_one(&pool).await.unwrap().get(0);
        // A number we made: nothing to inject.
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {}", pages + 2)))
            .execute(&pool)
            .await
            .unwrap();

        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES ('small')").execute(&mut *tx).await.unwrap();
        let big = "z".repeat(200_000);
        let full = sqlx::query("INSERT INTO t VALUES (?)").bind(&big).execute(&mut *tx).await;
        assert!(full.is_err(), "the page limit must make the insert fail");
        drop(tx);

        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES ('rolled back')").execute(&mut *tx).await.unwrap();
        drop(tx);

        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES ('kept')").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();

        // Another connection sees what was committed, at once (no write lock held).
        let mut other = SqliteConnection::connect_with(&opts).await.unwrap();
        let rows: Vec<String> = sqlx::query("SELECT x FROM t ORDER BY rowid")
            .fetch_all(&mut other)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(rows, vec!["kept".to_string()]);
    }
}
