//! For tests that need a PostgreSQL database of their own: each creates a fresh database beside
//! the one `ANNALS_TEST_DATABASE_URL` names (default: the local server's `postgres` database)
//! and drops it afterwards. Used by the test suites of every crate.

use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::postgres::with_database;

/// The database tests connect to in order to create and drop their own.
pub fn admin_url() -> String {
    std::env::var("ANNALS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs `sql` on the admin database.
pub async fn admin_execute(sql: &str) -> StoreResult<()> {
    let (client, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .map_err(|e| {
            StoreError::Backend(format!(
                "PostgreSQL must be reachable at ANNALS_TEST_DATABASE_URL: {e}"
            ))
        })?;
    tokio::spawn(connection);
    client.batch_execute(sql).await.map_err(StoreError::backend)
}

/// A fresh, empty database named `<prefix>_<uuid>`: its name and URL.
pub async fn create_database(prefix: &str) -> StoreResult<(String, String)> {
    let name = format!("{prefix}_{}", Uuid::new_v4().simple());
    admin_execute(&format!("CREATE DATABASE {name}")).await?;
    let url = with_database(&admin_url(), &name);
    Ok((name, url))
}

/// Drops a database made by [`create_database`], closing its connections.
pub async fn drop_database(name: &str) -> StoreResult<()> {
    admin_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
}
