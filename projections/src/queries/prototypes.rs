//! Default permission prototypes of an organization.

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb};

#[derive(Debug, Clone, PartialEq)]
pub struct PrototypeView {
    pub id: Uuid,
    pub role: String,
    /// `user`, `robot` or `team`.
    pub delegate_kind: String,
    pub delegate_name: String,
    pub activating_name: Option<String>,
}

/// The organization's prototypes, oldest first.
pub async fn list(db: &dyn ReadDb, org_id: Uuid) -> DbResult<Vec<PrototypeView>> {
    db.query(
        "SELECT id, role, delegate_kind, delegate_name, activating_name FROM prototypes
         WHERE org_id = $1 ORDER BY created_at, id LIMIT 1000",
        params![org_id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(PrototypeView {
            id: parse_uuid(r.str("id")?)?,
            role: r.string("role")?,
            delegate_kind: r.string("delegate_kind")?,
            delegate_name: r.string("delegate_name")?,
            activating_name: r.opt_str("activating_name")?.map(str::to_owned),
        })
    })
    .collect()
}
