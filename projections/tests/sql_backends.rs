//! The read-model SQL layer behaves the same on SQLite and PostgreSQL: one test body per
//! behaviour, run on a fresh SQLite file and on a fresh PostgreSQL schema.

use std::sync::Arc;

use annals_projections::params;
use annals_projections::sql::postgres::{PostgresReadDb, drop_schema, schema_exists};
use annals_projections::sql::sqlite::SqliteReadDb;
use annals_projections::sql::{ReadDb, SqlValue, Stmt};

fn url() -> String {
    std::env::var("ANNALS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, score REAL, flag BIGINT NOT NULL DEFAULT 0, blob BYTEA)",
    "CREATE INDEX IF NOT EXISTS items_by_name ON items (name)",
];

async fn on_both<F, Fut>(body: F)
where
    F: Fn(Arc<dyn ReadDb>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteReadDb::open(dir.path().join("rm.db")).await.unwrap();
    // SQLite has no BYTEA type name, but accepts it (any type name is allowed).
    body(Arc::new(sqlite)).await;

    let schema = format!("rm_test_{}", uuid::Uuid::new_v4().simple());
    let pg = PostgresReadDb::connect(&url(), &schema)
        .await
        .expect("PostgreSQL must be reachable at ANNALS_TEST_DATABASE_URL");
    assert!(schema_exists(&url(), &schema).await.unwrap());
    body(Arc::new(pg)).await;
    drop_schema(&url(), &schema).await.unwrap();
    assert!(!schema_exists(&url(), &schema).await.unwrap());
}

fn insert(id: i64, name: &str) -> Stmt {
    Stmt::new(
        "INSERT INTO items (id, name) VALUES ($1, $2)",
        params![id, name],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        db.migrate(DDL).await.unwrap();
        let stmt = Stmt::new(
            "INSERT INTO items (id, name, score, flag, blob) VALUES ($1, $2, $3, $4, $5)",
            vec![
                SqlValue::Int(1),
                "é ünïcode".into(),
                SqlValue::Real(2.5),
                true.into(),
                SqlValue::Bytes(vec![0, 1, 255]),
            ],
        );
        db.apply(
            vec![
                stmt,
                Stmt::new(
                    "INSERT INTO items (id, name) VALUES ($1, $2)",
                    params![2i64, "plain"],
                ),
            ],
            ("p", 7),
        )
        .await
        .unwrap();
        let rows = db
            .query(
                "SELECT id, name, score, flag, blob FROM items ORDER BY id",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].i64("id").unwrap(), 1);
        assert_eq!(rows[0].str("name").unwrap(), "é ünïcode");
        assert_eq!(rows[0].values[2], SqlValue::Real(2.5));
        assert!(rows[0].bool("flag").unwrap());
        assert_eq!(rows[0].values[4], SqlValue::Bytes(vec![0, 1, 255]));
        assert_eq!(rows[1].values[2], SqlValue::Null);
        assert_eq!(rows[1].opt_str("name").unwrap(), Some("plain"));
        assert!(rows[1].i64("score").is_err() || rows[1].opt_i64("score").unwrap().is_none());
        assert_eq!(db.checkpoint("p").await.unwrap(), 7);
        assert_eq!(db.checkpoint("never").await.unwrap(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_and_keyset_pages() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        let stmts: Vec<Stmt> = (1..=25).map(|i| insert(i, &format!("n{i:02}"))).collect();
        db.apply(stmts, ("p", 1)).await.unwrap();
        let upsert = Stmt::new(
            "INSERT INTO items (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![3i64, "renamed"],
        );
        db.apply(vec![upsert], ("p", 2)).await.unwrap();
        let renamed = db.query("SELECT name FROM items WHERE id = $1", params![3i64]).await.unwrap();
        assert_eq!(renamed[0].str("name").unwrap(), "renamed");
        let page = db
            .query("SELECT id FROM items WHERE id > $1 AND name <> $2 ORDER BY id LIMIT $3", params![10i64, "n12", 5i64])
            .await
            .unwrap();
        assert_eq!(page.iter().map(|r| r.i64("id").unwrap()).collect::<Vec<_>>(), [11, 13, 14, 15, 16]);
        let optional = db
            .query("SELECT COUNT(*) AS n FROM items WHERE CAST($1 AS TEXT) IS NULL OR name = $1", vec![SqlValue::Null])
            .await
            .unwrap();
        assert_eq!(optional[0].i64("n").unwrap(), 25);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_statement_applies_nothing() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        db.apply(vec![insert(1, "a")], ("p", 1)).await.unwrap();
        // The second insert violates the primary key: neither row nor checkpoint may land.
        let failed = db
            .apply(
                vec![insert(2, "b"), insert(1, "dup"), insert(3, "c")],
                ("p", 2),
            )
            .await;
        assert!(failed.is_err());
        let rows = db
            .query("SELECT id FROM items ORDER BY id", vec![])
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(db.checkpoint("p").await.unwrap(), 1);
        assert!(
            db.query("SELECT * FROM no_such_table", vec![])
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_run_while_a_writer_writes() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                for batch in 0..20i64 {
                    let stmts = (0..50).map(|i| insert(batch * 50 + i, "w")).collect();
                    db.apply(stmts, ("w", batch as u64 + 1)).await.unwrap();
                }
            })
        };
        let mut last = 0;
        while !writer.is_finished() {
            let n = db
                .query("SELECT COUNT(*) AS n FROM items", vec![])
                .await
                .unwrap()[0]
                .i64("n")
                .unwrap();
            assert!(
                n >= last && n % 50 == 0,
                "readers see whole transactions only: {n}"
            );
            last = n;
        }
        writer.await.unwrap();
        assert_eq!(
            db.query("SELECT COUNT(*) AS n FROM items", vec![])
                .await
                .unwrap()[0]
                .i64("n")
                .unwrap(),
            1000
        );
        assert_eq!(db.checkpoint("w").await.unwrap(), 20);
    })
    .await;
}
