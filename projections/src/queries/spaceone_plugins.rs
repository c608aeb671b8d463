//! SpaceONE plugins, with the name of the domain (organization) each belongs to.

use uuid::Uuid;

use crate::params;
use crate::sql::{DbResult, ReadDb, Row};

/// The most plugins one list or statistics query reads (the rest are not considered).
pub const MAX_PLUGINS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct SpacePluginView {
    pub plugin_id: String,
    pub organization_id: Uuid,
    /// The organization's name: the SpaceONE `domain_id`.
    pub domain: String,
    pub name: String,
    pub service_type: String,
    pub image: String,
    pub provider: String,
    pub registry_type: String,
    /// JSON text of each structured field.
    pub registry_config: String,
    pub capability: String,
    pub template: String,
    pub docs: String,
    pub labels: String,
    pub tags: String,
    pub project_id: String,
    pub state: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

fn plugin(row: &Row) -> DbResult<SpacePluginView> {
    Ok(SpacePluginView {
        plugin_id: row.string("plugin_id")?,
        organization_id: row
            .str("organization_id")?
            .parse()
            .map_err(|e| crate::sql::DbError::Decode(format!("organization_id: {e}")))?,
        domain: row.string("domain")?,
        name: row.string("name")?,
        service_type: row.string("service_type")?,
        image: row.string("image")?,
        provider: row.string("provider")?,
        registry_type: row.string("registry_type")?,
        registry_config: row.string("registry_config")?,
        capability: row.string("capability")?,
        template: row.string("template")?,
        docs: row.string("docs")?,
        labels: row.string("labels")?,
        tags: row.string("tags")?,
        project_id: row.string("project_id")?,
        state: row.string("state")?,
        created_at: row.i64("created_at")?,
        updated_at: row.i64("updated_at")?,
    })
}

const PLUGINS: &str =
    "SELECT p.plugin_id, p.organization_id, n.name AS domain, p.name, p.service_type,
    p.image, p.provider, p.registry_type, p.registry_config, p.capability, p.template, p.docs,
    p.labels, p.tags, p.project_id, p.state, p.created_at, p.updated_at
    FROM spaceone_plugins p JOIN namespaces n ON n.id = p.organization_id AND n.deleted = 0";

pub async fn get(db: &dyn ReadDb, plugin_id: &str) -> DbResult<Option<SpacePluginView>> {
    let sql = format!("{PLUGINS} WHERE p.plugin_id = $1");
    db.query(&sql, params![plugin_id])
        .await?
        .first()
        .map(plugin)
        .transpose()
}

/// The plugins of the organizations `organizations` (every organization's when `None`), by
/// plugin id, at most [`MAX_PLUGINS`].
pub async fn list(
    db: &dyn ReadDb,
    organizations: Option<&[Uuid]>,
) -> DbResult<Vec<SpacePluginView>> {
    let rows = match organizations {
        None => {
            let sql = format!("{PLUGINS} ORDER BY p.plugin_id LIMIT $1");
            db.query(&sql, params![MAX_PLUGINS]).await?
        }
        Some(ids) => {
            let mut rows = Vec::new();
            for id in ids {
                let sql =
                    format!("{PLUGINS} WHERE p.organization_id = $1 ORDER BY p.plugin_id LIMIT $2");
                rows.extend(db.query(&sql, params![*id, MAX_PLUGINS]).await?);
            }
            rows
        }
    };
    let mut plugins = rows.iter().map(plugin).collect::<DbResult<Vec<_>>>()?;
    plugins.sort_by(|a, b| a.plugin_id.cmp(&b.plugin_id));
    plugins.truncate(MAX_PLUGINS as usize);
    Ok(plugins)
}
