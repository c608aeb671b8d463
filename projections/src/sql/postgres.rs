//! The read models on PostgreSQL: a deadpool pool whose connections all live in one schema (one
//! schema per read-model generation). Statements are prepared once per connection and a
//! projection's statements are pipelined inside one transaction.

use std::error::Error as StdError;

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{Config, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures::future::try_join_all;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row as PgRow};

use super::coalesce::coalesce;
use super::db::{Dialect, ReadDb};
use super::error::{DbError, DbResult};
use super::row::Row;
use super::value::{SqlValue, Stmt};

pub struct PostgresReadDb {
    pool: Pool,
}

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
        Ok(PostgresReadDb { pool })
    }
}

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            SqlValue::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            SqlValue::Text(v) => v.as_str().to_sql(ty, out),
            SqlValue::Bytes(v) => v.as_slice().to_sql(ty, out),
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
                | Type::BYTEA
        )
    }

    to_sql_checked!();
}

fn decode(row: &PgRow) -> DbResult<Vec<SqlValue>> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let err =
            |e: tokio_postgres::Error| DbError::Decode(format!("column {}: {e}", column.name()));
        let value = match *column.type_() {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(err)?
                .map(SqlValue::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(err)?
                .map(|v| SqlValue::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(err)?
                .map(|v| SqlValue::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(err)?
                .map(|v| SqlValue::Int(v as i64)),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(i)
                .map_err(err)?
                .map(SqlValue::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(err)?
                .map(|v| SqlValue::Real(v.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
                .try_get::<_, Option<String>>(i)
                .map_err(err)?
                .map(SqlValue::Text),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(err)?
                .map(SqlValue::Bytes),
            ref other => {
                return Err(DbError::Decode(format!(
                    "column {}: unsupported type {other}",
                    column.name()
                )));
            }
        };
        values.push(value.unwrap_or(SqlValue::Null));
    }
    Ok(values)
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
        let mut client = self.pool.get().await.map_err(DbError::backend)?;
        let tx = client.transaction().await.map_err(DbError::backend)?;
        let stmts = coalesce(stmts);
        let mut prepared = Vec::with_capacity(stmts.len());
        for stmt in &stmts {
            prepared.push(
                tx.prepare_cached(&stmt.sql)
                    .await
                    .map_err(DbError::backend)?,
            );
        }
        let params: Vec<Vec<&(dyn ToSql + Sync)>> =
            stmts.iter().map(|s| as_params(&s.params)).collect();
        // Issued together, the executes are pipelined on the connection and run in order.
        try_join_all(
            prepared
                .iter()
                .zip(&params)
                .map(|(stmt, params)| tx.execute(stmt, params)),
        )
        .await
        .map_err(DbError::backend)?;
        let position = checkpoint.1 as i64;
        tx.execute(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            &[&checkpoint.0, &position],
        )
        .await
        .map_err(DbError::backend)?;
        tx.commit().await.map_err(DbError::backend)
    }

    async fn checkpoint(&self, name: &str) -> DbResult<u64> {
        let rows = self
            .query(
                "SELECT position FROM projection_checkpoints WHERE name = $1",
                vec![SqlValue::from(name)],
            )
            .await?;
        Ok(rows
            .first()
            .map(|r| r.i64("position"))
            .transpose()?
            .unwrap_or(0)
            .max(0) as u64)
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
