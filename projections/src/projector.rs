//! A projector turns events into row changes. It never reads the database while projecting, so
//! a batch of events becomes one list of statements applied in one transaction with the
//! projector's checkpoint.

use std::sync::Arc;

use annals_domain::DomainEvent;
use annals_store::RecordedEvent;

use crate::sql::{DbResult, ReadDb, Stmt};

pub trait Projector: Send + Sync + 'static {
    /// The checkpoint name; changing it makes the projector start over from position 0.
    fn name(&self) -> &'static str;

    /// `CREATE TABLE/INDEX IF NOT EXISTS` statements, valid in both dialects.
    fn schema(&self) -> &'static [&'static str];

    /// Each table with the columns that order its rows completely (for dumps and comparisons).
    fn tables(&self) -> &'static [(&'static str, &'static str)];

    /// Appends the statements that apply `event` (recorded as `recorded`). Must be idempotent
    /// per event and depend only on earlier events, so replay gives the same rows.
    fn project(&self, recorded: &RecordedEvent, event: &DomainEvent, out: &mut Vec<Stmt>);
}

/// Every projector Annals runs, in the order they are applied.
pub fn all_projectors() -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(crate::catalog::Catalog),
        Arc::new(crate::access::Access),
        Arc::new(crate::registry::RegistryContent),
        Arc::new(crate::plugins::Plugins),
        Arc::new(crate::log_exports::LogExports),
        Arc::new(crate::log_index::LogIndex),
    ]
}

/// Creates the tables of every projector.
pub async fn migrate_all(db: &dyn ReadDb, projectors: &[Arc<dyn Projector>]) -> DbResult<()> {
    let ddl: Vec<&str> = projectors
        .iter()
        .flat_map(|p| p.schema().iter().copied())
        .collect();
    db.migrate(&ddl).await
}
