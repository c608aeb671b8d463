//! The log-exports projector: one row per export, for the worker (which exports are still to
//! write or to announce), the download route (which blob an export's URL serves, until when)
//! and garbage collection (which blobs a live export still needs).

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct LogExports;

const SCHEMA: &[&str] = &[
    // `status`: `requested`, then `success`, `failed`, `timedout` or `invalidrequest`.
    // `request` is the request as JSON (`log_export::ExportRequest`); `actor` the requester's.
    "CREATE TABLE IF NOT EXISTS log_exports (
        export_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        notified BIGINT NOT NULL,
        request TEXT NOT NULL,
        actor TEXT NOT NULL,
        command_id TEXT,
        correlation_id TEXT,
        requested_at BIGINT NOT NULL,
        digest TEXT,
        size BIGINT,
        entries BIGINT,
        expires_at BIGINT,
        error TEXT
    )",
    "CREATE INDEX IF NOT EXISTS log_exports_pending ON log_exports (notified, requested_at)",
];

const TABLES: &[(&str, &str)] = &[("log_exports", "export_id")];

impl Projector for LogExports {
    fn name(&self) -> &'static str {
        "log_exports"
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [(&'static str, &'static str)] {
        TABLES
    }

    fn project(&self, recorded: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>) {
        use DomainEvent::*;
        let meta = &recorded.meta;
        match event {
            LogExportRequested { export_id, request } => out.push(Stmt::new(
                "INSERT INTO log_exports (export_id, status, notified, request, actor, command_id,
                    correlation_id, requested_at)
                 VALUES ($1, 'requested', 0, $2, $3, $4, $5, $6)
                 ON CONFLICT (export_id) DO NOTHING",
                params![
                    *export_id,
                    serde_json::to_string(request).unwrap_or_default(),
                    meta.actor_json(),
                    meta.command_id.clone(),
                    meta.correlation_id.clone(),
                    recorded.recorded_at.timestamp_micros()
                ],
            )),
            LogExportCompleted {
                export_id,
                digest,
                size,
                entries,
                expires_at,
                ..
            } => out.push(Stmt::new(
                "UPDATE log_exports SET status = 'success', digest = $2, size = $3, entries = $4,
                    expires_at = $5 WHERE export_id = $1",
                params![
                    *export_id,
                    digest.to_string(),
                    *size,
                    *entries,
                    expires_at.timestamp_micros()
                ],
            )),
            LogExportFailed {
                export_id,
                status,
                error,
                ..
            } => out.push(Stmt::new(
                "UPDATE log_exports SET status = $2, error = $3 WHERE export_id = $1",
                params![*export_id, status.as_str(), error.as_str()],
            )),
            LogExportNotified { export_id, .. } => out.push(Stmt::new(
                "UPDATE log_exports SET notified = 1 WHERE export_id = $1",
                params![*export_id],
            )),
            _ => {}
        }
    }
}
