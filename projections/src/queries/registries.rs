//! DigitalOcean registries and their garbage collections.

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct RegistryView {
    pub id: Uuid,
    pub name: String,
    pub namespace_id: Uuid,
    pub owner_id: Uuid,
    pub tier: String,
    pub region: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, namespace_id, owner_id, tier, region, created_at, updated_at";

impl RegistryView {
    fn from_row(row: &Row) -> DbResult<Self> {
        Ok(RegistryView {
            id: parse_uuid(row.str("id")?)?,
            name: row.string("name")?,
            namespace_id: parse_uuid(row.str("namespace_id")?)?,
            owner_id: parse_uuid(row.str("owner_id")?)?,
            tier: row.string("tier")?,
            region: row.string("region")?,
            created_at: row.i64("created_at")?,
            updated_at: row.i64("updated_at")?,
        })
    }
}

/// The live registry of an account.
pub async fn by_owner(db: &dyn ReadDb, owner_id: Uuid) -> DbResult<Option<RegistryView>> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM registries WHERE owner_id = $1 AND deleted = 0"),
            params![owner_id],
        )
        .await?;
    rows.first().map(RegistryView::from_row).transpose()
}

/// The live registry over namespace `name`.
pub async fn by_name(db: &dyn ReadDb, name: &str) -> DbResult<Option<RegistryView>> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM registries WHERE name = $1 AND deleted = 0"),
            params![name],
        )
        .await?;
    rows.first().map(RegistryView::from_row).transpose()
}

#[derive(Debug, Clone, PartialEq)]
pub struct GcRunView {
    pub id: Uuid,
    pub registry_id: Uuid,
    pub registry_name: String,
    pub gc_type: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub blobs_deleted: u64,
    pub freed_bytes: u64,
}

const GC_COLUMNS: &str = "id, registry_id, registry_name, gc_type, status, created_at, updated_at, blobs_deleted, freed_bytes";

impl GcRunView {
    fn from_row(row: &Row) -> DbResult<Self> {
        Ok(GcRunView {
            id: parse_uuid(row.str("id")?)?,
            registry_id: parse_uuid(row.str("registry_id")?)?,
            registry_name: row.string("registry_name")?,
            gc_type: row.string("gc_type")?,
            status: row.string("status")?,
            created_at: row.i64("created_at")?,
            updated_at: row.i64("updated_at")?,
            blobs_deleted: row.i64("blobs_deleted")?.max(0) as u64,
            freed_bytes: row.i64("freed_bytes")?.max(0) as u64,
        })
    }

    pub fn is_active(&self) -> bool {
        !matches!(self.status.as_str(), "succeeded" | "failed" | "cancelled")
    }
}

pub async fn gc_run(db: &dyn ReadDb, id: Uuid) -> DbResult<Option<GcRunView>> {
    let rows = db
        .query(
            &format!("SELECT {GC_COLUMNS} FROM gc_runs WHERE id = $1"),
            params![id],
        )
        .await?;
    rows.first().map(GcRunView::from_row).transpose()
}

/// The collection of a registry that has not ended, if any.
pub async fn active_gc(db: &dyn ReadDb, registry_name: &str) -> DbResult<Option<GcRunView>> {
    let rows = db
        .query(
            &format!(
                "SELECT {GC_COLUMNS} FROM gc_runs WHERE registry_name = $1
                   AND status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at DESC LIMIT 1"
            ),
            params![registry_name],
        )
        .await?;
    rows.first().map(GcRunView::from_row).transpose()
}

/// Every collection that has not ended, across registries (for the worker to pick up).
pub async fn unfinished_gcs(db: &dyn ReadDb) -> DbResult<Vec<GcRunView>> {
    let rows = db
        .query(
            &format!(
                "SELECT {GC_COLUMNS} FROM gc_runs WHERE status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at"
            ),
            vec![],
        )
        .await?;
    rows.iter().map(GcRunView::from_row).collect()
}

/// A page of a registry's collections, newest first.
pub async fn gc_runs(
    db: &dyn ReadDb,
    registry_name: &str,
    offset: u64,
    limit: u64,
) -> DbResult<(Vec<GcRunView>, u64)> {
    let rows = db
        .query(
            &format!(
                "SELECT {GC_COLUMNS} FROM gc_runs WHERE registry_name = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
            ),
            params![registry_name, limit, offset],
        )
        .await?;
    let total = db
        .query(
            "SELECT COUNT(*) AS n FROM gc_runs WHERE registry_name = $1",
            params![registry_name],
        )
        .await?;
    let total = total
        .first()
        .map(|r| r.i64("n"))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64;
    Ok((
        rows.iter()
            .map(GcRunView::from_row)
            .collect::<DbResult<_>>()?,
        total,
    ))
}
