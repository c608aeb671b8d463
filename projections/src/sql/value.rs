//! The values that cross the read-model SQL layer. Kept to the types both SQLite and PostgreSQL
//! store the same way: integers are BIGINT, booleans are 0/1 integers, times are integer
//! microseconds since the epoch, JSON is TEXT.

/// One SQL parameter or column value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<u64> for SqlValue {
    fn from(v: u64) -> Self {
        SqlValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<i32> for SqlValue {
    fn from(v: i32) -> Self {
        SqlValue::Int(v.into())
    }
}

impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Int(v as i64)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(v.clone())
    }
}

impl From<uuid::Uuid> for SqlValue {
    fn from(v: uuid::Uuid) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(SqlValue::Null)
    }
}

/// A statement with `$1..$n` placeholders (PostgreSQL style; the SQLite backend maps them to
/// its own numbered `?1..?n`).
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<SqlValue>,
    /// For a pure overwrite (`UPDATE t SET c = $n, ... WHERE key = $1 ...`: it sets only
    /// parameters and reads nothing), how many leading parameters name the row; 0 otherwise.
    pub overwrites: usize,
    /// For a statement that reads and writes only the row of its table that its first `row`
    /// parameters name by the table's primary key (and the table has no other unique index),
    /// that count; 0 otherwise. Such statements on different rows commute (see `coalesce`).
    pub row: usize,
}

impl Stmt {
    pub fn new(sql: &'static str, params: Vec<SqlValue>) -> Self {
        Stmt {
            sql,
            params,
            overwrites: 0,
            row: 0,
        }
    }

    /// A statement on the one row its first `key` parameters name (see [`Stmt::row`]).
    pub fn on_row(sql: &'static str, params: Vec<SqlValue>, key: usize) -> Self {
        Stmt {
            sql,
            params,
            overwrites: 0,
            row: key,
        }
    }

    /// A pure overwrite of the row its first `key` parameters name: of a run of these with
    /// the same text and row, only the last has an effect (see `coalesce`).
    pub fn overwrite(sql: &'static str, params: Vec<SqlValue>, key: usize) -> Self {
        Stmt {
            sql,
            params,
            overwrites: key,
            row: key,
        }
    }
}

/// Builds a parameter list from anything that converts into [`SqlValue`].
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { vec![$($crate::sql::SqlValue::from($v)),*] };
}
