//! Why a command is refused. Each API family maps these onto its own error shape.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    NotFound(String),
    /// The command is valid but the target's state forbids it (for example a read-only repository).
    #[error("{0}")]
    Forbidden(String),
    /// The target cannot take changes for a while (a registry held read-only by a garbage
    /// collection); the same command may succeed later.
    #[error("{0}")]
    Unavailable(String),
    /// The command conflicts with the target's state in a way only a different command
    /// resolves (a plugin whose jar is gone cannot be reloaded).
    #[error("{0}")]
    Conflict(String),
}
