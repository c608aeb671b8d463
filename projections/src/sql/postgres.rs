//! The read models on PostgreSQL: a deadpool pool whose connections all live in one schema (one
//! schema per read-model generation). Statements are prepared once per connection and a
//! projection's statements are pipelined inside one transaction.

use std::error::Error as StdError;

use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use deadpool_postgres::{Config, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row as PgRow};

use super::coalesce::coalesce;
use super::db::{Dialect, ReadDb};
use super::error::{DbError, DbResult};
use super::row::Row;
use super::set_update;
use super::value::{SqlValue, Stmt};

const CHECKPOINT_UPSERT: &str =
    "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position";

/// A read-model database in one PostgreSQL schema.
pub struct PostgresReadDb {
    pool: Pool,
    /// In a bulk load, projectors' batches are written in two concurrent transactions: each
    /// projector's rows still commit with its checkpoint, and nobody reads the database
    /// until it is complete (a crashed build is discarded whole).
    bulk: std::sync::atomic::AtomicBool,
}

/// Schema names are spliced into DDL and `search_path`, so only plain unquoted identifiers are
/// accepted.
fn check_schema(schema: &str) -> DbResult<()> {
    let mut chars = schema.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(DbError::Backend(format!("invalid schema name {schema:?}")))
    }
}

/// A one-off connection for schema-level statements, outside any pool.
async fn admin(url: &str) -> DbResult<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(DbError::backend)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("read-model admin connection: {e}");
        }
    });
    Ok(client)
}

/// Drops a read-model schema and everything in it.
pub async fn drop_schema(url: &str, schema: &str) -> DbResult<()> {
    check_schema(schema)?;
    admin(url)
        .await?
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .map_err(DbError::backend)
}

/// Whether a read-model schema exists (a generation that was built and not dropped yet).
pub async fn schema_exists(url: &str, schema: &str) -> DbResult<bool> {
    let client = admin(url).await?;
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .await
        .map_err(DbError::backend)?;
    Ok(row.get(0))
}

impl PostgresReadDb {
    /// Connects to `url` with every connection's `search_path` set to `schema` (created if
    /// missing).
    pub async fn connect(url: &str, schema: &str) -> DbResult<Self> {
        check_schema(schema)?;
        admin(url)
            .await?
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(DbError::backend)?;
        let mut config = Config::new();
        config.url = Some(url.to_owned());
        // Read models are rebuildable and each projection commits its rows with its checkpoint,
        // so a crash that loses the last commits only means projecting those events again.
        config.options = Some(format!("-c search_path={schema} -c synchronous_commit=off"));
        config.manager = Some(ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(DbError::backend)?;
        // Fail now, not on the first query, when the server is unreachable.
        drop(pool.get().await.map_err(DbError::backend)?);
        Ok(PostgresReadDb {
            pool,
            bulk: Default::default(),
        })
    }

    /// Every batch's statements and checkpoint in one transaction.
    async fn apply_together(&self, batches: Batches<'_>) -> DbResult<()> {
        if batches.is_empty() {
            return Ok(());
        }
        let mut checkpoints: Vec<(&str, i64)> = Vec::with_capacity(batches.len());
        let mut all = Vec::new();
        for (stmts, (name, position)) in batches {
            let position = i64::try_from(position).map_err(|_| {
                DbError::Backend(format!(
                    "checkpoint {name} position {position} does not fit a BIGINT"
                ))
            })?;
            checkpoints.push((name, position));
            all.extend(stmts);
        }
        let stmts = coalesce(all);
        let runs = set_update::runs(&stmts);
        // Each distinct text is prepared once (cached per connection after the first time).
        let mut texts: Vec<&str> = vec![CHECKPOINT_UPSERT];
        let mut text_of = Vec::with_capacity(stmts.len());
        for stmt in &stmts {
            let index = match texts.iter().position(|t| *t == stmt.sql) {
                Some(index) => index,
                None => {
                    texts.push(&stmt.sql);
                    texts.len() - 1
                }
            };
            text_of.push(index);
        }
        let mut client = self.pool.get().await.map_err(DbError::backend)?;
        let tx = client.transaction().await.map_err(DbError::backend)?;
        let prepared = try_join_all(texts.iter().map(|t| tx.prepare_cached(t)))
            .await
            .map_err(DbError::backend)?;
        // Runs of one overwrite whose set-based form exists: that form, prepared, and each
        // parameter's column of values.
        let mut set_texts: Vec<Option<String>> = Vec::with_capacity(runs.len());
        for run in &runs {
            let single = &prepared[text_of[run.start]];
            set_texts.push(set_update::set_based(
                &stmts[run.start].sql,
                single.params(),
            ));
        }
        let set_prepared = try_join_all(
            set_texts
                .iter()
                .flatten()
                .map(|text| tx.prepare_cached(text)),
        )
        .await
        .map_err(DbError::backend)?;
        let mut set_prepared = set_prepared.into_iter();
        let mut columns: Vec<(std::ops::Range<usize>, Vec<Vec<&SqlValue>>)> = Vec::new();
        let mut set_statements = Vec::new();
        for (run, text) in runs.iter().zip(&set_texts) {
            if text.is_none() {
                continue;
            }
            let width = stmts[run.start].params.len();
            let mut run_columns = vec![Vec::with_capacity(run.len()); width];
            for stmt in &stmts[run.clone()] {
                for (column, value) in run_columns.iter_mut().zip(&stmt.params) {
                    column.push(value);
                }
            }
            columns.push((run.clone(), run_columns));
            set_statements.extend(set_prepared.next());
        }
        let checkpoint_params: Vec<[&(dyn ToSql + Sync); 2]> = checkpoints
            .iter()
            .map(|(name, position)| [name as &(dyn ToSql + Sync), position as _])
            .collect();
        // What runs, in order: each statement alone, or a run's set-based form in its place.
        let mut ops: Vec<(&tokio_postgres::Statement, Vec<&(dyn ToSql + Sync)>)> =
            Vec::with_capacity(stmts.len() + checkpoints.len());
        let mut sets = columns.iter().zip(&set_statements).peekable();
        let mut i = 0;
        while i < stmts.len() {
            if let Some(((run, run_columns), statement)) = sets.next_if(|((r, _), _)| r.start == i)
            {
                i = run.end;
                ops.push((
                    statement,
                    run_columns
                        .iter()
                        .map(|c| c as &(dyn ToSql + Sync))
                        .collect(),
                ));
            } else {
                ops.push((&prepared[text_of[i]], as_params(&stmts[i].params)));
                i += 1;
            }
        }
        for params in &checkpoint_params {
            ops.push((&prepared[0], params.to_vec()));
        }
        // Issued together, the executes are pipelined on the connection and run in order; the
        // first failure fails the batch and dropping `tx` rolls everything back.
        let executes = ops
            .iter()
            .map(|(statement, params)| tx.execute(*statement, params));
        try_join_all(executes).await.map_err(DbError::backend)?;
        tx.commit().await.map_err(DbError::backend)
    }
}

/// Projectors' statements, each with its checkpoint.
type Batches<'a> = Vec<(Vec<Stmt>, (&'a str, u64))>;

/// `batches` in two groups of about the same number of statements, each in projector order.
fn halves(batches: Batches<'_>) -> (Batches<'_>, Batches<'_>) {
    let total: usize = batches.iter().map(|(stmts, _)| stmts.len()).sum();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let mut in_first = 0;
    for batch in batches {
        if in_first * 2 < total || first.is_empty() {
            in_first += batch.0.len();
            first.push(batch);
        } else {
            second.push(batch);
        }
    }
    (first, second)
}

/// What a [`SqlValue`] is, for error messages.
fn kind(value: &SqlValue) -> &'static str {
    match value {
        SqlValue::Null => "NULL",
        SqlValue::Int(_) => "an integer",
        SqlValue::Real(_) => "a real",
        SqlValue::Text(_) => "text",
        SqlValue::Bytes(_) => "bytes",
    }
}

/// Encodes a value as the type PostgreSQL inferred for the parameter. `accepts` only sees the
/// type, so the value is checked here: writing, say, text where an INT8 is expected would send
/// its bytes as a number instead of failing.
impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (self, ty) {
            (SqlValue::Null, _) => Ok(IsNull::Yes),
            (SqlValue::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (SqlValue::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (SqlValue::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql(ty, out),
            // Booleans are 0/1 integers in this layer; a BOOLEAN column still takes them.
            (SqlValue::Int(v), &Type::BOOL) => (*v != 0).to_sql(ty, out),
            // As SQLite does for a REAL column.
            (SqlValue::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (SqlValue::Int(v), &Type::FLOAT4) => (*v as f32).to_sql(ty, out),
            (SqlValue::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (SqlValue::Real(v), &Type::FLOAT4) => (*v as f32).to_sql(ty, out),
            (
                SqlValue::Text(v),
                &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME | &Type::UNKNOWN,
            )
            | (SqlValue::Text(v), &Type::JSON) => {
                out.put_slice(v.as_bytes());
                Ok(IsNull::No)
            }
            (SqlValue::Text(v), &Type::JSONB) => {
                out.put_u8(JSONB_VERSION);
                out.put_slice(v.as_bytes());
                Ok(IsNull::No)
            }
            (SqlValue::Bytes(v), &Type::BYTEA) => {
                out.put_slice(v);
                Ok(IsNull::No)
            }
            (value, ty) => Err(format!("cannot send {} as a PostgreSQL {ty}", kind(value)).into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::BOOL
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
                | Type::JSON
                | Type::JSONB
                | Type::BYTEA
        )
    }

    to_sql_checked!();
}

/// The only JSONB binary format version PostgreSQL has.
const JSONB_VERSION: u8 = 1;

/// One decoded result cell. Other column types are a decode error naming the type.
struct Cell(SqlValue);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Cell(match *ty {
            Type::INT8 => SqlValue::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => SqlValue::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => SqlValue::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => SqlValue::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => SqlValue::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => SqlValue::Real(f32::from_sql(ty, raw)?.into()),
            // SUM of BIGINT and AVG of integers are NUMERIC on PostgreSQL, but INTEGER and REAL
            // on SQLite; decoding NUMERIC the same way keeps one code path for aggregates.
            Type::NUMERIC => numeric(raw)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
                SqlValue::Text(std::str::from_utf8(raw)?.to_owned())
            }
            Type::JSONB => match raw.split_first() {
                Some((&JSONB_VERSION, text)) => {
                    SqlValue::Text(std::str::from_utf8(text)?.to_owned())
                }
                _ => return Err("unknown JSONB format version".into()),
            },
            Type::BYTEA => SqlValue::Bytes(raw.to_vec()),
            ref other => return Err(format!("unsupported type {other}").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Cell(SqlValue::Null))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::BOOL
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::NUMERIC
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
                | Type::JSON
                | Type::JSONB
                | Type::BYTEA
        )
    }
}

/// NUMERIC's binary form (base-10000 digit groups) as an integer when it has no fractional
/// digits and fits, otherwise as the nearest real.
fn numeric(raw: &[u8]) -> Result<SqlValue, Box<dyn StdError + Sync + Send>> {
    let word = |i: usize| {
        raw.get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or("truncated NUMERIC")
    };
    let ndigits = i32::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = word(3)?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok(SqlValue::Real(f64::NAN)),
        0xD000 => return Ok(SqlValue::Real(f64::INFINITY)),
        0xF000 => return Ok(SqlValue::Real(f64::NEG_INFINITY)),
        _ => return Err("bad NUMERIC sign".into()),
    }
    // The digit group worth 10000^exponent (0 where none is stored).
    let group = |exponent: i32| -> Result<u16, Box<dyn StdError + Sync + Send>> {
        let index = weight - exponent;
        if (0..ndigits).contains(&index) {
            let d = word(4 + index as usize)?;
            if d > 9999 {
                return Err("bad NUMERIC digit".into());
            }
            Ok(d)
        } else {
            Ok(0)
        }
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&group(weight)?.to_string());
        for exponent in (0..weight).rev() {
            text.push_str(&format!("{:04}", group(exponent)?));
        }
    }
    let lowest = weight - ndigits + 1;
    if lowest < 0 {
        text.push('.');
        for exponent in (lowest..0).rev() {
            text.push_str(&format!("{:04}", group(exponent)?));
        }
    }
    if dscale == 0
        && let Ok(v) = text.parse::<i64>()
    {
        return Ok(SqlValue::Int(v));
    }
    Ok(SqlValue::Real(text.parse::<f64>()?))
}

fn decode(row: &PgRow) -> DbResult<Vec<SqlValue>> {
    (0..row.len())
        .map(|i| {
            row.try_get::<_, Cell>(i).map(|c| c.0).map_err(|e| {
                DbError::Decode(format!("column {}: {}", row.columns()[i].name(), chain(&e)))
            })
        })
        .collect()
}

/// An error with its causes (tokio-postgres puts the useful part in the source).
fn chain(e: &dyn StdError) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn as_params(params: &[SqlValue]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

#[async_trait]
impl ReadDb for PostgresReadDb {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn migrate(&self, ddl: &[&str]) -> DbResult<()> {
        let mut client = self.pool.get().await.map_err(DbError::backend)?;
        let tx = client.transaction().await.map_err(DbError::backend)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS projection_checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
            .await
            .map_err(DbError::backend)?;
        for statement in ddl {
            tx.batch_execute(statement)
                .await
                .map_err(DbError::backend)?;
        }
        tx.commit().await.map_err(DbError::backend)
    }

    async fn apply(&self, stmts: Vec<Stmt>, checkpoint: (&str, u64)) -> DbResult<()> {
        self.apply_many(vec![(stmts, checkpoint)]).await
    }

    async fn apply_many(&self, batches: Vec<(Vec<Stmt>, (&str, u64))>) -> DbResult<()> {
        if !self.bulk.load(std::sync::atomic::Ordering::Relaxed) || batches.len() < 2 {
            return self.apply_together(batches).await;
        }
        let (first, second) = halves(batches);
        futures::try_join!(self.apply_together(first), self.apply_together(second))?;
        Ok(())
    }

    async fn build_indexes(&self, ddl: &[&str]) -> DbResult<()> {
        // An index build is mostly one sort on one core: one build per core, each on its own
        // connection.
        let at_once = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let builds: Vec<_> = ddl
            .iter()
            .map(|statement| {
                let (pool, statement) = (self.pool.clone(), statement.to_string());
                async move {
                    let client = pool.get().await.map_err(DbError::backend)?;
                    client
                        .batch_execute(&statement)
                        .await
                        .map_err(DbError::backend)
                }
            })
            .collect();
        futures::stream::iter(builds)
            .buffer_unordered(at_once)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn bulk_load(&self, on: bool) -> DbResult<()> {
        self.bulk.store(on, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn analyze(&self) -> DbResult<()> {
        let client = self.pool.get().await.map_err(DbError::backend)?;
        // This generation's tables only, not every table of the database.
        let tables = client
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .await
            .map_err(DbError::backend)?;
        let names: Vec<String> = tables
            .iter()
            .map(|r| format!("\"{}\"", r.get::<_, String>(0)))
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        client
            .batch_execute(&format!("ANALYZE {}", names.join(", ")))
            .await
            .map_err(DbError::backend)
    }

    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> DbResult<Vec<Row>> {
        let client = self.pool.get().await.map_err(DbError::backend)?;
        let stmt = client.prepare_cached(sql).await.map_err(DbError::backend)?;
        let rows = client
            .query(&stmt, &as_params(&params))
            .await
            .map_err(DbError::backend)?;
        let columns = std::sync::Arc::new(
            stmt.columns()
                .iter()
                .map(|c| c.name().to_owned())
                .collect::<Vec<_>>(),
        );
        rows.iter()
            .map(|r| {
                Ok(Row {
                    columns: columns.clone(),
                    values: decode(r)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_decode_as_integers_when_whole_and_reals_otherwise() {
        // 9223372036854775807 = 922 3372 0368 5477 5807
        let max = numeric_bytes(4, 0, 0, &[922, 3372, 368, 5477, 5807]);
        assert_eq!(numeric(&max).unwrap(), SqlValue::Int(i64::MAX));
        assert_eq!(
            numeric(&numeric_bytes(0, 0x4000, 0, &[7])).unwrap(),
            SqlValue::Int(-7)
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0, 0, &[])).unwrap(),
            SqlValue::Int(0)
        );
        // 10000 is stored as one group of weight 1.
        assert_eq!(
            numeric(&numeric_bytes(1, 0, 0, &[1])).unwrap(),
            SqlValue::Int(10_000)
        );
        // 0.5 and -12.0625.
        assert_eq!(
            numeric(&numeric_bytes(-1, 0, 16, &[5000])).unwrap(),
            SqlValue::Real(0.5)
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0x4000, 4, &[12, 625])).unwrap(),
            SqlValue::Real(-12.0625)
        );
        // 0.00001 = group 1000 at 10000^-2.
        assert_eq!(
            numeric(&numeric_bytes(-2, 0, 5, &[1000])).unwrap(),
            SqlValue::Real(0.00001)
        );
        // Too big for i64: the nearest real.
        let big = numeric_bytes(5, 0, 0, &[1]);
        assert_eq!(numeric(&big).unwrap(), SqlValue::Real(1e20));
        assert!(
            matches!(numeric(&numeric_bytes(0, 0xC000, 0, &[])).unwrap(), SqlValue::Real(v) if v.is_nan())
        );
        assert!(numeric(&[0, 1]).is_err());
        assert!(numeric(&numeric_bytes(0, 0, 0, &[10_000])).is_err());
        assert!(numeric(&numeric_bytes(0, 0x1234, 0, &[1])).is_err());
        let whole = numeric_bytes(3, 0, 0, &[1, 2]);
        assert!(numeric(&whole[..whole.len() - 1]).is_err());
    }

    #[test]
    fn values_are_only_sent_as_matching_types() {
        let mut out = BytesMut::new();
        let ok = |v: SqlValue, ty: Type| {
            let mut out = BytesMut::new();
            v.to_sql_checked(&ty, &mut out).map(|_| out.to_vec())
        };
        assert_eq!(ok(SqlValue::Int(1), Type::BOOL).unwrap(), [1]);
        assert_eq!(ok(SqlValue::Int(258), Type::INT2).unwrap(), [1, 2]);
        assert_eq!(ok("{}".into(), Type::JSONB).unwrap(), [1, b'{', b'}']);
        assert!(ok(SqlValue::Int(1 << 40), Type::INT4).is_err());
        assert!(ok("abcdefgh".into(), Type::INT8).is_err());
        assert!(ok(SqlValue::Real(1.0), Type::INT8).is_err());
        assert!(ok(SqlValue::Int(1), Type::TEXT).is_err());
        assert!(ok(SqlValue::Bytes(vec![b'a']), Type::TEXT).is_err());
        assert!(ok("a".into(), Type::BYTEA).is_err());
        assert!(ok(SqlValue::Int(1), Type::DATE).is_err());
        assert!(matches!(
            SqlValue::Null.to_sql_checked(&Type::INT8, &mut out),
            Ok(IsNull::Yes)
        ));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["a", "_", "annals_rm_12", &"x".repeat(63)] {
            assert!(check_schema(good).is_ok(), "{good}");
        }
        for bad in ["", "A", "1a", "a-b", "a b", "a\"b", "é", &"x".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }
}
