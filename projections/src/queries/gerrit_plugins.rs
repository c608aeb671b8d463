//! Gerrit plugins, as installed now.

use crate::params;
use crate::sql::{DbResult, ReadDb, Row};

/// The most plugins a list answers.
pub const MAX_PLUGINS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct GerritPluginView {
    pub id: String,
    pub version: String,
    pub api_version: Option<String>,
    pub jar_digest: String,
    pub jar_size: i64,
    pub disabled: bool,
    pub revision: i64,
}

fn plugin(row: &Row) -> DbResult<GerritPluginView> {
    Ok(GerritPluginView {
        id: row.string("id")?,
        version: row.string("version")?,
        api_version: row.opt_str("api_version")?.map(str::to_owned),
        jar_digest: row.string("jar_digest")?,
        jar_size: row.i64("jar_size")?,
        disabled: row.bool("disabled")?,
        revision: row.i64("revision")?,
    })
}

const PLUGINS: &str =
    "SELECT id, version, api_version, jar_digest, jar_size, disabled, revision FROM gerrit_plugins";

pub async fn get(db: &dyn ReadDb, id: &str) -> DbResult<Option<GerritPluginView>> {
    let sql = format!("{PLUGINS} WHERE id = $1");
    db.query(&sql, params![id])
        .await?
        .first()
        .map(plugin)
        .transpose()
}

/// Every plugin (the disabled ones too unless `enabled_only`), sorted by id.
pub async fn list(db: &dyn ReadDb, enabled_only: bool) -> DbResult<Vec<GerritPluginView>> {
    let sql = if enabled_only {
        format!("{PLUGINS} WHERE disabled = 0 ORDER BY id LIMIT $1")
    } else {
        format!("{PLUGINS} ORDER BY id LIMIT $1")
    };
    let mut plugins = db
        .query(&sql, params![MAX_PLUGINS])
        .await?
        .iter()
        .map(plugin)
        .collect::<DbResult<Vec<_>>>()?;
    // By byte order, whatever the database's collation.
    plugins.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(plugins)
}
