//! Errors of the read-model SQL layer.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("read model database: {0}")]
    Backend(String),
    #[error("read model row: {0}")]
    Decode(String),
}

impl DbError {
    /// A backend failure, with the whole chain of causes (a driver's top-level message alone,
    /// such as "db error", says nothing).
    pub fn backend(e: impl std::error::Error) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        DbError::Backend(message)
    }
}

pub type DbResult<T> = Result<T, DbError>;
