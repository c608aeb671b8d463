//! The read-model SQL layer: values, rows, statements, and the [`ReadDb`] trait with its SQLite
//! and PostgreSQL backends. Projectors and queries are written once against it.

pub mod coalesce;
pub mod db;
pub mod error;
pub mod postgres;
pub mod row;
pub mod set_update;
pub mod sqlite;
pub mod value;

pub use db::{Dialect, ReadDb};
pub use error::{DbError, DbResult};
pub use row::Row;
pub use value::{SqlValue, Stmt};
