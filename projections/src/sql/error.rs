//! Errors of the read-model SQL layer.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("read model database: {0}")]
    Backend(String),
    #[error("read model row: {0}")]
    Decode(String),
}

impl DbError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        DbError::Backend(e.to_string())
    }
}

pub type DbResult<T> = Result<T, DbError>;
