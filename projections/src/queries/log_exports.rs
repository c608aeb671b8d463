//! Log exports as the worker, the download route and garbage collection read them.

use annals_domain::log_export::{ExportRequest, ExportStatus};
use annals_domain::{Actor, Digest};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::params;
use crate::sql::{DbError, DbResult, ReadDb, Row};

/// One export.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExportView {
    pub export_id: Uuid,
    /// None while it is being written.
    pub status: Option<ExportStatus>,
    pub notified: bool,
    pub request: ExportRequest,
    /// Who asked.
    pub actor: Actor,
    pub command_id: Option<Uuid>,
    pub correlation_id: Option<Uuid>,
    /// The file, when written.
    pub digest: Option<Digest>,
    pub size: Option<u64>,
    pub entries: Option<u64>,
    /// Until when its URL serves (and its file is kept).
    pub expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

const COLUMNS: &str = "export_id, status, notified, request, actor, command_id, correlation_id,
    digest, size, entries, expires_at, error";

fn decode<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> DbResult<T> {
    serde_json::from_str(text).map_err(|e| DbError::Decode(format!("log_exports.{column}: {e}")))
}

fn status(s: &str) -> Option<ExportStatus> {
    use ExportStatus::*;
    [Success, Failed, TimedOut, InvalidRequest]
        .into_iter()
        .find(|st| st.as_str() == s)
}

fn uuid(column: &str, s: Option<&str>) -> DbResult<Option<Uuid>> {
    s.map(|s| Uuid::parse_str(s).map_err(|e| DbError::Decode(format!("{column}: {e}"))))
        .transpose()
}

fn from_row(row: &Row) -> DbResult<LogExportView> {
    Ok(LogExportView {
        export_id: uuid("export_id", Some(row.str("export_id")?))?.unwrap_or_default(),
        status: status(row.str("status")?),
        notified: row.bool("notified")?,
        request: decode("request", row.str("request")?)?,
        actor: decode("actor", row.str("actor")?)?,
        command_id: uuid("command_id", row.opt_str("command_id")?)?,
        correlation_id: uuid("correlation_id", row.opt_str("correlation_id")?)?,
        digest: row
            .opt_str("digest")?
            .map(super::content::parse_digest)
            .transpose()?,
        size: row.opt_i64("size")?.map(|n| n as u64),
        entries: row.opt_i64("entries")?.map(|n| n as u64),
        expires_at: row
            .opt_i64("expires_at")?
            .and_then(DateTime::<Utc>::from_timestamp_micros),
        error: row.opt_str("error")?.map(str::to_owned),
    })
}

pub async fn get(db: &dyn ReadDb, export_id: Uuid) -> DbResult<Option<LogExportView>> {
    let sql = format!("SELECT {COLUMNS} FROM log_exports WHERE export_id = $1");
    let rows = db.query(&sql, params![export_id]).await?;
    rows.first().map(from_row).transpose()
}

/// Exports still to write or to announce, oldest first, at most `limit`.
pub async fn pending(db: &dyn ReadDb, limit: usize) -> DbResult<Vec<LogExportView>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM log_exports WHERE notified = 0
         ORDER BY requested_at, export_id LIMIT $1"
    );
    let rows = db.query(&sql, params![limit as i64]).await?;
    rows.iter().map(from_row).collect()
}
