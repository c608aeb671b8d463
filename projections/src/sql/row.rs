//! A result row of the read-model SQL layer, read by column name.

use std::sync::Arc;

use super::error::{DbError, DbResult};
use super::value::SqlValue;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub columns: Arc<Vec<String>>,
    pub values: Vec<SqlValue>,
}

impl Row {
    fn value(&self, column: &str) -> DbResult<&SqlValue> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| DbError::Decode(format!("no column {column}")))
    }

    pub fn opt_i64(&self, column: &str) -> DbResult<Option<i64>> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Int(v) => Ok(Some(*v)),
            SqlValue::Real(v) => Ok(Some(*v as i64)),
            other => Err(DbError::Decode(format!(
                "column {column}: expected integer, got {other:?}"
            ))),
        }
    }

    pub fn i64(&self, column: &str) -> DbResult<i64> {
        self.opt_i64(column)?
            .ok_or_else(|| DbError::Decode(format!("column {column} is null")))
    }

    pub fn bool(&self, column: &str) -> DbResult<bool> {
        Ok(self.i64(column)? != 0)
    }

    pub fn opt_str(&self, column: &str) -> DbResult<Option<&str>> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Text(v) => Ok(Some(v.as_str())),
            other => Err(DbError::Decode(format!(
                "column {column}: expected text, got {other:?}"
            ))),
        }
    }

    pub fn str(&self, column: &str) -> DbResult<&str> {
        self.opt_str(column)?
            .ok_or_else(|| DbError::Decode(format!("column {column} is null")))
    }

    pub fn string(&self, column: &str) -> DbResult<String> {
        self.str(column).map(str::to_owned)
    }
}
