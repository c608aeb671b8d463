//! A projector turns events into row changes. It never reads the database while projecting, so
//! a batch of events becomes one list of statements applied in one transaction with the
//! projector's checkpoint.

use std::sync::Arc;

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::sql::{DbResult, ReadDb, Stmt};

pub trait Projector: Send + Sync + 'static {
    /// The checkpoint name; changing it makes the projector start over from position 0.
    fn name(&self) -> &'static str;

    /// `CREATE TABLE/INDEX IF NOT EXISTS` statements, valid in both dialects.
    fn schema(&self) -> &'static [&'static str];

    /// Each table with the columns that order its rows completely (for dumps and comparisons).
    fn tables(&self) -> &'static [(&'static str, &'static str)];

    /// `CREATE INDEX IF NOT EXISTS` statements that only queries use, never this projector's
    /// own statements: a bulk load (a replay into a fresh generation) builds them once at the
    /// end, from sorted rows, instead of updating them row by row.
    fn query_indexes(&self) -> &'static [&'static str] {
        &[]
    }

    /// Appends the statements that apply `event` (recorded as `recorded`). Must be idempotent
    /// per event and depend only on earlier events, so replay gives the same rows.
    fn project(&self, recorded: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>);
}

/// Every projector Annals runs, in the order they are applied.
pub fn all_projectors() -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(crate::catalog::Catalog),
        Arc::new(crate::access::Access),
        Arc::new(crate::registry::RegistryContent),
        Arc::new(crate::plugins::Plugins),
        Arc::new(crate::log_exports::LogExports),
        Arc::new(crate::subscriptions::Subscriptions),
        // Namespace quotas.
        Arc::new(crate::quotas::Quotas),
        // Repository notifications.
        Arc::new(crate::notifications::RepositoryNotifications),
        // Auto-prune policies.
        Arc::new(crate::autoprune::Autoprune),
        // Repository mirrors.
        Arc::new(crate::mirrors::Mirrors),
        // Proxy-cache organizations and what they fetched.
        Arc::new(crate::proxy_cache::ProxyCaches),
        Arc::new(crate::log_index::LogIndex),
    ]
}

/// Creates the tables and indexes of every projector.
pub async fn migrate_all(db: &dyn ReadDb, projectors: &[Arc<dyn Projector>]) -> DbResult<()> {
    let ddl: Vec<&str> = projectors
        .iter()
        .flat_map(|p| p.schema().iter().chain(p.query_indexes()).copied())
        .collect();
    db.migrate(&ddl).await
}

/// Creates the tables of every projector without the indexes only queries use: the start of a
/// bulk load, which [`finish_bulk_load`] completes.
pub async fn migrate_for_bulk_load(
    db: &dyn ReadDb,
    projectors: &[Arc<dyn Projector>],
) -> DbResult<()> {
    let ddl: Vec<&str> = projectors
        .iter()
        .flat_map(|p| p.schema().iter().copied())
        .collect();
    db.migrate(&ddl).await?;
    db.bulk_load(true).await
}

/// Ends a bulk load: the database made durable and back in serving mode, then the indexes only
/// queries use built from the loaded rows.
pub async fn finish_bulk_load(db: &dyn ReadDb, projectors: &[Arc<dyn Projector>]) -> DbResult<()> {
    db.bulk_load(false).await?;
    let ddl: Vec<&str> = projectors
        .iter()
        .flat_map(|p| p.query_indexes().iter().copied())
        .collect();
    db.build_indexes(&ddl).await
}
