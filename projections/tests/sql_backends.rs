//! The read-model SQL layer behaves the same on SQLite and PostgreSQL: one test body per
//! behaviour, run on a fresh SQLite file and on a fresh PostgreSQL schema (dropped afterwards,
//! even when the body fails). PostgreSQL being unreachable fails the tests: they never skip.

use std::future::Future;
use std::sync::Arc;

use annals_projections::params;
use annals_projections::sql::postgres::{PostgresReadDb, drop_schema, schema_exists};
use annals_projections::sql::sqlite::SqliteReadDb;
use annals_projections::sql::{DbError, Dialect, ReadDb, SqlValue, Stmt};

fn url() -> String {
    std::env::var("ANNALS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Column types spelled so both dialects accept them: SQLite takes any type name (BYTEA gets
/// BLOB affinity), and PostgreSQL's REAL is FLOAT4, which holds the test values exactly.
const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS items (
        id BIGINT PRIMARY KEY,
        name TEXT NOT NULL,
        score REAL,
        flag BIGINT NOT NULL DEFAULT 0,
        blob BYTEA,
        small INTEGER,
        ok BOOLEAN
    )",
    "CREATE INDEX IF NOT EXISTS items_by_name ON items (name)",
];

/// Runs `body` on SQLite, then on PostgreSQL, naming the backend when it fails.
async fn on_both<F, Fut>(body: F)
where
    F: Fn(Arc<dyn ReadDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteReadDb::open(dir.path().join("rm.db")).await.unwrap();
    let outcome = tokio::spawn(body(Arc::new(sqlite))).await;
    rethrow("SQLite", outcome);

    let url = url();
    let schema = format!("rm_test_{}", uuid::Uuid::new_v4().simple());
    let pg = PostgresReadDb::connect(&url, &schema)
        .await
        .expect("PostgreSQL must be reachable at ANNALS_TEST_DATABASE_URL");
    assert!(schema_exists(&url, &schema).await.unwrap());
    let outcome = tokio::spawn(body(Arc::new(pg))).await;
    drop_schema(&url, &schema).await.unwrap();
    assert!(!schema_exists(&url, &schema).await.unwrap());
    rethrow("PostgreSQL", outcome);
}

fn rethrow(backend: &str, outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        eprintln!("failed on {backend}");
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("{backend}: {e}"),
        }
    }
}

fn insert(id: i64, name: &str) -> Stmt {
    Stmt::new(
        "INSERT INTO items (id, name) VALUES ($1, $2)",
        params![id, name],
    )
}

async fn ids(db: &dyn ReadDb, sql: &str, params: Vec<SqlValue>) -> Vec<i64> {
    db.query(sql, params)
        .await
        .unwrap()
        .iter()
        .map(|r| r.i64("id").unwrap())
        .collect()
}

async fn count(db: &dyn ReadDb) -> i64 {
    db.query("SELECT COUNT(*) AS n FROM items", vec![])
        .await
        .unwrap()[0]
        .i64("n")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_and_all_or_nothing() {
    on_both(|db| async move {
        db.analyze().await.unwrap();
        db.migrate(DDL).await.unwrap();
        db.apply(vec![insert(1, "kept")], ("p", 1)).await.unwrap();
        db.migrate(DDL).await.unwrap();
        db.migrate(&[]).await.unwrap();
        assert_eq!(count(&*db).await, 1, "re-running migrations keeps the rows");
        assert_eq!(db.checkpoint("p").await.unwrap(), 1);

        let broken = db
            .migrate(&[
                "CREATE TABLE IF NOT EXISTS half (x BIGINT)",
                "CREATE TABLE nonsense (",
            ])
            .await;
        assert!(matches!(broken, Err(DbError::Backend(_))), "{broken:?}");
        assert!(
            db.query("SELECT x FROM half", vec![]).await.is_err(),
            "a failed migration leaves none of its statements behind"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_kind_round_trips() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        let full = Stmt::new(
            "INSERT INTO items (id, name, score, flag, blob, small, ok) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                SqlValue::Int(i64::MAX),
                "é ünïcode 'quoted' $1".into(),
                SqlValue::Real(-2.5),
                true.into(),
                SqlValue::Bytes(vec![0, 1, 255]),
                SqlValue::Int(-7),
                true.into(),
            ],
        );
        let nulls = Stmt::new(
            "INSERT INTO items (id, name, score, flag, blob, small, ok) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                SqlValue::Int(i64::MIN),
                SqlValue::Text(String::new()),
                SqlValue::Null,
                false.into(),
                SqlValue::Null,
                SqlValue::Null,
                None::<bool>.into(),
            ],
        );
        let falsy = Stmt::new(
            "INSERT INTO items (id, name, blob, ok) VALUES ($1, $2, $3, $4)",
            vec![0i64.into(), "falsy".into(), SqlValue::Bytes(vec![]), false.into()],
        );
        db.apply(vec![full, nulls, falsy], ("p", 7)).await.unwrap();

        let rows = db
            .query("SELECT id, name, score, flag, blob, small, ok FROM items ORDER BY id DESC", vec![])
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            *rows[0].columns,
            ["id", "name", "score", "flag", "blob", "small", "ok"]
        );
        assert_eq!(
            rows[0].values,
            [
                SqlValue::Int(i64::MAX),
                SqlValue::Text("é ünïcode 'quoted' $1".into()),
                SqlValue::Real(-2.5),
                SqlValue::Int(1),
                SqlValue::Bytes(vec![0, 1, 255]),
                SqlValue::Int(-7),
                SqlValue::Int(1),
            ]
        );
        assert_eq!(
            rows[1].values,
            [
                SqlValue::Int(0),
                SqlValue::Text("falsy".into()),
                SqlValue::Null,
                SqlValue::Int(0),
                SqlValue::Bytes(vec![]),
                SqlValue::Null,
                SqlValue::Int(0),
            ]
        );
        assert_eq!(
            rows[2].values,
            [
                SqlValue::Int(i64::MIN),
                SqlValue::Text(String::new()),
                SqlValue::Null,
                SqlValue::Int(0),
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
            ]
        );
        assert!(rows[0].bool("ok").unwrap() && !rows[1].bool("ok").unwrap());
        assert_eq!(rows[2].opt_i64("small").unwrap(), None);
        assert!(matches!(rows[2].i64("small"), Err(DbError::Decode(_))));
        assert!(matches!(rows[0].str("id"), Err(DbError::Decode(_))));
        assert!(matches!(rows[0].i64("missing"), Err(DbError::Decode(_))));

        // Every kind also works as a parameter, including booleans against a BOOLEAN column
        // and the TRUE/FALSE literals both dialects know.
        let by = |sql: &'static str, value: SqlValue| {
            let db = db.clone();
            async move { ids(&*db, sql, vec![value]).await }
        };
        assert_eq!(by("SELECT id FROM items WHERE blob = $1", SqlValue::Bytes(vec![0, 1, 255])).await, [i64::MAX]);
        assert_eq!(by("SELECT id FROM items WHERE score = $1", SqlValue::Real(-2.5)).await, [i64::MAX]);
        assert_eq!(by("SELECT id FROM items WHERE small = $1", SqlValue::Int(-7)).await, [i64::MAX]);
        assert_eq!(by("SELECT id FROM items WHERE ok = $1", true.into()).await, [i64::MAX]);
        assert_eq!(by("SELECT id FROM items WHERE ok = $1", false.into()).await, [0]);
        assert_eq!(by("SELECT id FROM items WHERE name = $1", "falsy".into()).await, [0]);
        assert_eq!(ids(&*db, "SELECT id FROM items WHERE ok = TRUE", vec![]).await, [i64::MAX]);
        assert_eq!(ids(&*db, "SELECT id FROM items WHERE ok = FALSE", vec![]).await, [0]);
        assert_eq!(
            ids(&*db, "SELECT id FROM items WHERE ok IS NULL", vec![]).await,
            [i64::MIN]
        );

        // Computed columns decode the same on both: COUNT and SUM of integers are integers (SUM of
        // BIGINT is NUMERIC on PostgreSQL),
        // AVG is real, a NULL aggregate is NULL, aliases name the columns.
        let agg = db
            .query(
                "SELECT COUNT(*) AS n, SUM(small) AS total, SUM(id) AS big, AVG(flag) AS mean, MAX(score) AS top, MIN(small) AS low
                 FROM items WHERE id = $1 OR id = $2",
                params![0i64, i64::MAX],
            )
            .await
            .unwrap();
        assert_eq!(*agg[0].columns, ["n", "total", "big", "mean", "top", "low"]);
        assert_eq!(
            agg[0].values,
            [
                SqlValue::Int(2),
                SqlValue::Int(-7),
                SqlValue::Int(i64::MAX),
                SqlValue::Real(0.5),
                SqlValue::Real(-2.5),
                SqlValue::Int(-7),
            ]
        );
        let empty = db
            .query("SELECT SUM(small) AS total FROM items WHERE id = $1", params![42i64])
            .await
            .unwrap();
        assert_eq!(empty[0].values, [SqlValue::Null]);
        assert_eq!(db.checkpoint("p").await.unwrap(), 7);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_keep_statement_order() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        const UPSERT: &str = "INSERT INTO items (id, name, flag) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, flag = items.flag + excluded.flag";
        const IGNORE: &str =
            "INSERT INTO items (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
        let mut stmts: Vec<Stmt> = (1..=300).map(|i| insert(i, &format!("n{i:03}"))).collect();
        stmts.push(Stmt::new(UPSERT, params![3i64, "renamed", 1i64]));
        stmts.push(Stmt::new(UPSERT, params![3i64, "renamed again", 1i64]));
        stmts.push(Stmt::new(UPSERT, params![301i64, "new", 5i64]));
        stmts.push(Stmt::new(IGNORE, params![4i64, "ignored"]));
        stmts.push(Stmt::new(IGNORE, params![302i64, "added"]));
        stmts.push(Stmt::new(
            "UPDATE items SET name = $2 WHERE id = $1",
            params![302i64, "updated after insert"],
        ));
        stmts.push(Stmt::new("DELETE FROM items WHERE id = $1", params![5i64]));
        db.apply(stmts, ("p", 1)).await.unwrap();

        let name = |id: i64| {
            let db = db.clone();
            async move {
                let rows = db
                    .query("SELECT name, flag FROM items WHERE id = $1", params![id])
                    .await
                    .unwrap();
                rows.first()
                    .map(|r| (r.string("name").unwrap(), r.i64("flag").unwrap()))
            }
        };
        assert_eq!(name(3).await, Some(("renamed again".into(), 2)));
        assert_eq!(name(301).await, Some(("new".into(), 5)));
        assert_eq!(name(4).await, Some(("n004".into(), 0)));
        assert_eq!(name(302).await, Some(("updated after insert".into(), 0)));
        assert_eq!(name(5).await, None);
        assert_eq!(count(&*db).await, 301);
    })
    .await;
}

/// A run of one overwrite on many rows (sent as one set-based UPDATE on PostgreSQL) sets every
/// value kind, NULLs included, on exactly its rows; rows it names that do not exist stay absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_overwrites_set_every_value_kind() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        const SET: &str =
            "UPDATE items SET score = $2, flag = $3, blob = $4, small = $5, ok = $6 WHERE id = $1";
        let mut stmts: Vec<Stmt> = (0..100).map(|i| insert(i, &format!("n{i}"))).collect();
        let value = |i: i64| -> Vec<SqlValue> {
            if i % 3 == 0 {
                vec![
                    i.into(),
                    SqlValue::Null,
                    (-i).into(),
                    SqlValue::Null,
                    SqlValue::Null,
                    SqlValue::Null,
                ]
            } else {
                vec![
                    i.into(),
                    SqlValue::Real(i as f64 / 4.0),
                    (i * 1000).into(),
                    SqlValue::Bytes(vec![i as u8, 0, 255]),
                    (i * 2).into(),
                    (i % 2 == 0).into(),
                ]
            }
        };
        // Rows 0..150: 100..150 do not exist. Row 7 is overwritten twice; the last counts.
        stmts.push(Stmt::overwrite(
            SET,
            params![7i64, SqlValue::Real(0.5), 1i64, SqlValue::Null, 1i64, true],
            1,
        ));
        stmts.extend((0..150).map(|i| Stmt::overwrite(SET, value(i), 1)));
        db.apply(stmts, ("p", 1)).await.unwrap();
        let rows = db
            .query(
                "SELECT id, score, flag, blob, small, ok FROM items ORDER BY id",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 100);
        for (i, row) in rows.iter().enumerate() {
            let want = value(i as i64);
            let ok = match &want[5] {
                SqlValue::Int(v) => SqlValue::Int(*v),
                other => other.clone(),
            };
            assert_eq!(
                row.values,
                vec![
                    want[0].clone(),
                    want[1].clone(),
                    want[2].clone(),
                    want[3].clone(),
                    want[4].clone(),
                    ok
                ],
                "row {i}"
            );
        }
    })
    .await;
}

/// Row-local statements are regrouped in layers by `coalesce` (all the first statements of each
/// row, then all the second ones...). A long pseudo-random mix of them over a few rows, with
/// statements that read other rows in between, leaves the same rows as applying each alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_local_statements_regrouped_in_layers_have_the_same_effect() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        const IGNORE: &str =
            "INSERT INTO items (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
        const UPSERT: &str = "INSERT INTO items (id, name, flag) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET flag = items.flag * 3 + excluded.flag";
        const RENAME: &str = "UPDATE items SET name = $2 WHERE id = $1";
        const DOUBLE: &str = "UPDATE items SET flag = flag * 2 + $2 WHERE id = $1";
        const DELETE: &str = "DELETE FROM items WHERE id = $1";
        // Reads and writes many rows: a barrier.
        const SHIFT: &str = "UPDATE items SET flag = flag + 1 WHERE id > $1";
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as i64
        };
        let stmts: Vec<Stmt> = (0..600)
            .map(|i| {
                let id = next(12) + 1;
                let name = format!("n{i}");
                match next(20) {
                    0..=4 => Stmt::on_row(IGNORE, params![id, name], 1),
                    5..=8 => Stmt::on_row(UPSERT, params![id, name, next(5)], 1),
                    9..=13 => Stmt::overwrite(RENAME, params![id, name], 1),
                    14..=17 => Stmt::on_row(DOUBLE, params![id, next(3)], 1),
                    18 => Stmt::on_row(DELETE, params![id], 1),
                    _ => Stmt::new(SHIFT, params![next(12)]),
                }
            })
            .collect();
        let rows = |db: Arc<dyn ReadDb>| async move {
            db.query("SELECT id, name, flag FROM items ORDER BY id", vec![])
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.i64("id").unwrap(),
                        r.string("name").unwrap(),
                        r.i64("flag").unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        db.apply(stmts.clone(), ("p", 1)).await.unwrap();
        let together = rows(db.clone()).await;
        db.apply(vec![Stmt::new("DELETE FROM items", vec![])], ("p", 2))
            .await
            .unwrap();
        for stmt in stmts {
            db.apply(vec![stmt], ("p", 3)).await.unwrap();
        }
        let alone = rows(db.clone()).await;
        assert!(together.len() > 3, "{together:?}");
        assert_eq!(together, alone);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_keyset_pages_with_several_params() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        let stmts = (1..=25)
            .map(|i| {
                Stmt::new(
                    "INSERT INTO items (id, name, flag) VALUES ($1, $2, $3)",
                    params![i as i64, format!("n{:02}", 26 - i), i % 3 == 0],
                )
            })
            .collect();
        db.apply(stmts, ("p", 1)).await.unwrap();

        let page = ids(
            &*db,
            "SELECT id FROM items WHERE id > $1 AND name <> $2 ORDER BY id LIMIT $3",
            params![10i64, "n14", 5i64],
        )
        .await;
        assert_eq!(page, [11, 13, 14, 15, 16]);
        // Fresh planner statistics change plans, not results.
        db.analyze().await.unwrap();
        assert_eq!(
            ids(
                &*db,
                "SELECT id FROM items WHERE id > $1 AND name <> $2 ORDER BY id LIMIT $3",
                params![10i64, "n14", 5i64]
            )
            .await,
            page
        );

        // Keyset over (flag DESC, name ASC), resuming after a cursor, one parameter used twice.
        const PAGE: &str = "SELECT id, name, flag FROM items
            WHERE flag < $1 OR (flag = $1 AND name > $2)
            ORDER BY flag DESC, name ASC LIMIT $3";
        let mut cursor = (2i64, String::new());
        let mut seen = Vec::new();
        loop {
            let rows = db
                .query(PAGE, params![cursor.0, cursor.1.clone(), 4i64])
                .await
                .unwrap();
            if rows.is_empty() {
                break;
            }
            let last = rows.last().unwrap();
            cursor = (last.i64("flag").unwrap(), last.string("name").unwrap());
            seen.extend(rows.iter().map(|r| r.i64("id").unwrap()));
        }
        let flagged: Vec<i64> = (1..=25).rev().filter(|i| i % 3 == 0).collect();
        let rest: Vec<i64> = (1..=25).rev().filter(|i| i % 3 != 0).collect();
        assert_eq!(seen, [flagged, rest].concat());

        // An optional filter: a NULL parameter means "any".
        let any = "SELECT COUNT(*) AS n FROM items WHERE CAST($1 AS TEXT) IS NULL OR name = $1";
        let n = |v: SqlValue| {
            let db = db.clone();
            async move { db.query(any, vec![v]).await.unwrap()[0].i64("n").unwrap() }
        };
        assert_eq!(n(SqlValue::Null).await, 25);
        assert_eq!(n("n01".into()).await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_statement_applies_nothing() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        db.apply(vec![insert(1, "a")], ("p", 1)).await.unwrap();
        // The middle statement violates the primary key: neither rows nor checkpoint may land,
        // not even those of the statements before it.
        let failed = db
            .apply(
                vec![
                    insert(2, "b"),
                    insert(3, "c"),
                    Stmt::new(
                        "UPDATE items SET name = $1 WHERE id = $2",
                        params!["x", 1i64],
                    ),
                    insert(1, "dup"),
                    insert(4, "d"),
                ],
                ("p", 2),
            )
            .await;
        assert!(matches!(failed, Err(DbError::Backend(_))), "{failed:?}");
        assert_eq!(
            ids(&*db, "SELECT id FROM items ORDER BY id", vec![]).await,
            [1]
        );
        assert_eq!(
            db.query("SELECT name FROM items", vec![]).await.unwrap()[0]
                .str("name")
                .unwrap(),
            "a"
        );
        assert_eq!(db.checkpoint("p").await.unwrap(), 1);

        // Bad SQL and a NOT NULL violation fail the same way.
        for bad in [
            Stmt::new("INSERT INTO no_such_table (x) VALUES ($1)", params![1i64]),
            Stmt::new(
                "INSERT INTO items (id, name) VALUES ($1, $2)",
                vec![SqlValue::Int(9), SqlValue::Null],
            ),
        ] {
            let failed = db.apply(vec![insert(5, "e"), bad], ("p", 3)).await;
            assert!(matches!(failed, Err(DbError::Backend(_))), "{failed:?}");
        }
        assert!(
            db.query("SELECT * FROM no_such_table", vec![])
                .await
                .is_err()
        );

        // The database is still usable after the failures.
        db.apply(vec![insert(2, "b")], ("p", 4)).await.unwrap();
        assert_eq!(
            ids(&*db, "SELECT id FROM items ORDER BY id", vec![]).await,
            [1, 2]
        );
        assert_eq!(db.checkpoint("p").await.unwrap(), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_per_projection() {
    on_both(|db| async move {
        db.migrate(DDL).await.unwrap();
        assert_eq!(db.checkpoint("a").await.unwrap(), 0);
        db.apply(vec![], ("a", 5)).await.unwrap();
        db.apply(vec![], ("b", 9)).await.unwrap();
        assert_eq!(db.checkpoint("a").await.unwrap(), 5);
        assert_eq!(db.checkpoint("b").await.unwrap(), 9);
        db.apply(vec![insert(1, "x")], ("a", 6)).await.unwrap();
        assert_eq!(db.checkpoint("a").await.unwrap(), 6);
        assert_eq!(db.checkpoint("b").await.unwrap(), 9);
        assert_eq!(db.checkpoint("").await.unwrap(), 0);

        let top = i64::MAX as u64;
        db.apply(vec![], ("a", top)).await.unwrap();
        assert_eq!(db.checkpoint("a").await.unwrap(), top);
        // A position the BIGINT column cannot hold is an error, and nothing is applied.
        let too_far = db.apply(vec![insert(2, "y")], ("a", top + 1)).await;
        assert!(too_far.is_err(), "{too_far:?}");
        assert_eq!(db.checkpoint("a").await.unwrap(), top);
        assert_eq!(count(&*db).await, 1);
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
        // Several readers at once, more than the SQLite reader pool holds.
        let readers: Vec<_> = (0..6)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut last = 0;
                    for _ in 0..40 {
                        let n = count(&*db).await;
                        assert!(
                            n >= last && n % 50 == 0,
                            "readers see whole transactions only: {n}"
                        );
                        last = n;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for reader in readers {
            reader.await.unwrap();
        }
        writer.await.unwrap();
        assert_eq!(count(&*db).await, 1000);
        assert_eq!(db.checkpoint("w").await.unwrap(), 20);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/rm.db");
    {
        let db = SqliteReadDb::open(&path).await.unwrap();
        assert_eq!(db.dialect(), Dialect::Sqlite);
        db.migrate(DDL).await.unwrap();
        db.apply(vec![insert(1, "kept")], ("p", 3)).await.unwrap();
        let mode = db.query("PRAGMA journal_mode", vec![]).await.unwrap();
        assert_eq!(mode[0].values, [SqlValue::Text("wal".into())]);
    }
    assert!(path.exists());
    let db = SqliteReadDb::open(&path).await.unwrap();
    assert_eq!(db.checkpoint("p").await.unwrap(), 3);
    assert_eq!(count(&db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rejects_bad_schema_names_and_mistyped_params() {
    let url = url();
    for bad in ["", "Upper", "1abc", "a-b", "a;drop", "a b", &"x".repeat(64)] {
        assert!(PostgresReadDb::connect(&url, bad).await.is_err(), "{bad:?}");
        assert!(drop_schema(&url, bad).await.is_err(), "{bad:?}");
    }
    let schema = format!("rm_test_{}", uuid::Uuid::new_v4().simple());
    let db = PostgresReadDb::connect(&url, &schema)
        .await
        .expect("PostgreSQL must be reachable at ANNALS_TEST_DATABASE_URL");
    // Connecting again to an existing schema is fine (it is how a restart reopens it).
    let again = PostgresReadDb::connect(&url, &schema).await.unwrap();
    let outcome = tokio::spawn(async move {
        assert_eq!(db.dialect(), Dialect::Postgres);
        db.migrate(DDL).await.unwrap();
        again.migrate(DDL).await.unwrap();
        // SQLite would store these as they are; PostgreSQL must refuse them rather than
        // reinterpret their bytes as another type.
        for (sql, value) in [
            (
                "SELECT id FROM items WHERE id = $1",
                SqlValue::Text("abcdefgh".into()),
            ),
            ("SELECT id FROM items WHERE id = $1", SqlValue::Real(1.0)),
            (
                "SELECT id FROM items WHERE id = $1",
                SqlValue::Bytes(vec![0; 8]),
            ),
            ("SELECT id FROM items WHERE name = $1", SqlValue::Int(7)),
            (
                "SELECT id FROM items WHERE blob = $1",
                SqlValue::Text("x".into()),
            ),
            (
                "SELECT id FROM items WHERE small = $1",
                SqlValue::Int(i64::MAX),
            ),
        ] {
            let result = db.query(sql, vec![value.clone()]).await;
            assert!(result.is_err(), "{sql} with {value:?}: {result:?}");
        }
        let failed = db
            .apply(
                vec![
                    insert(1, "a"),
                    Stmt::new(
                        "INSERT INTO items (id, name) VALUES ($1, $2)",
                        params![2i64, 3i64],
                    ),
                ],
                ("p", 1),
            )
            .await;
        assert!(failed.is_err());
        assert_eq!(count(&db).await, 0);
        // Types the layer does not map are a decode error, not a panic.
        let unmapped = db
            .query("SELECT CAST('2024-01-01' AS DATE) AS d", vec![])
            .await;
        assert!(matches!(unmapped, Err(DbError::Decode(_))), "{unmapped:?}");
        // JSON travels as text both ways.
        let json = db
            .query(
                "SELECT CAST($1 AS JSONB) AS b, CAST($2 AS JSON) AS j",
                params![r#"{"a":1}"#, r#"{"a":1}"#],
            )
            .await
            .unwrap();
        assert_eq!(json[0].str("b").unwrap(), r#"{"a": 1}"#);
        assert_eq!(json[0].str("j").unwrap(), r#"{"a":1}"#);
    })
    .await;
    drop_schema(&url, &schema).await.unwrap();
    rethrow("PostgreSQL", outcome);
}
