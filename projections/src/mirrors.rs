//! The repository mirrors projector: one row per mirroring repository, its configuration (as
//! JSON, `mirror::MirrorConfig`: never a password, only the id the worker keeps it under) and
//! where its synchronisation stands, for `GET .../mirror`; and its schedule (the next sync, the
//! sync a worker holds), for the mirror worker (`queries::mirrors::due`).

use crate::recorded::Recorded;
use annals_domain::DomainEvent;
use annals_domain::mirror::{MAX_SYNC_RETRIES, SyncOutcome, SyncStatus};

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Mirrors;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS repository_mirrors (
        repository_id TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        is_enabled BIGINT NOT NULL,
        sync_status TEXT NOT NULL,
        retries_remaining BIGINT NOT NULL,
        sync_expiration_date BIGINT,
        updated_at BIGINT NOT NULL
    )",
    // Its own table, so read models made before the mirror worker existed take it unchanged.
    "CREATE TABLE IF NOT EXISTS repository_mirror_schedule (
        repository_id TEXT PRIMARY KEY,
        next_sync_at BIGINT NOT NULL,
        sync_id TEXT
    )",
];

const TABLES: &[(&str, &str)] = &[
    ("repository_mirrors", "repository_id"),
    ("repository_mirror_schedule", "repository_id"),
];

impl Projector for Mirrors {
    fn name(&self) -> &'static str {
        "mirrors"
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [(&'static str, &'static str)] {
        TABLES
    }

    fn project(&self, recorded: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>) {
        use DomainEvent::*;
        let at = recorded.recorded_at.timestamp_micros();
        let mut stmt = |sql, params| out.push(Stmt::new(sql, params));
        let json = |c: &annals_domain::mirror::MirrorConfig| {
            serde_json::to_string(c).unwrap_or_else(|_| "{}".to_owned())
        };
        match event {
            RepositoryMirrorCreated {
                repository_id,
                config,
            } => {
                stmt(
                    "INSERT INTO repository_mirrors (repository_id, config, is_enabled, sync_status,
                        retries_remaining, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (repository_id) DO NOTHING",
                    params![
                        *repository_id,
                        json(config),
                        i64::from(config.is_enabled),
                        SyncStatus::NeverRun.as_str(),
                        i64::from(MAX_SYNC_RETRIES),
                        at
                    ],
                );
                stmt(
                    "INSERT INTO repository_mirror_schedule (repository_id, next_sync_at)
                     VALUES ($1, $2) ON CONFLICT (repository_id) DO NOTHING",
                    params![*repository_id, config.sync_start_date.timestamp_micros()],
                );
            }
            RepositoryMirrorChanged {
                repository_id,
                config,
                changed,
            } => {
                stmt(
                    "UPDATE repository_mirrors SET config = $2, is_enabled = $3, updated_at = $4
                     WHERE repository_id = $1",
                    params![
                        *repository_id,
                        json(config),
                        i64::from(config.is_enabled),
                        at
                    ],
                );
                if changed.iter().any(|c| c == "sync_start_date") {
                    stmt(
                        "INSERT INTO repository_mirror_schedule (repository_id, next_sync_at)
                         VALUES ($1, $2)
                         ON CONFLICT (repository_id) DO UPDATE SET next_sync_at = $2",
                        params![*repository_id, config.sync_start_date.timestamp_micros()],
                    );
                }
            }
            RepositoryMirrorEnabled { repository_id }
            | RepositoryMirrorDisabled { repository_id } => {
                let enabled = matches!(event, RepositoryMirrorEnabled { .. });
                stmt(
                    "UPDATE repository_mirrors SET is_enabled = $2, updated_at = $3
                     WHERE repository_id = $1",
                    params![*repository_id, i64::from(enabled), at],
                )
            }
            RepositoryMirrorSyncRequested { repository_id } => stmt(
                "UPDATE repository_mirrors SET sync_status = $2, sync_expiration_date = NULL,
                    retries_remaining = CASE WHEN retries_remaining < 1 THEN 1
                        ELSE retries_remaining END,
                    updated_at = $3
                 WHERE repository_id = $1",
                params![*repository_id, SyncStatus::SyncNow.as_str(), at],
            ),
            RepositoryMirrorSyncCancelled { repository_id } => stmt(
                "UPDATE repository_mirrors SET sync_status = $2, sync_expiration_date = NULL,
                    retries_remaining = 0, updated_at = $3
                 WHERE repository_id = $1",
                params![*repository_id, SyncStatus::Cancel.as_str(), at],
            ),
            RepositoryMirrorSyncStarted {
                repository_id,
                sync_id,
                expires_at,
                ..
            } => {
                stmt(
                    "UPDATE repository_mirrors SET sync_status = $2, sync_expiration_date = $3,
                        updated_at = $4
                     WHERE repository_id = $1",
                    params![
                        *repository_id,
                        SyncStatus::Syncing.as_str(),
                        expires_at.timestamp_micros(),
                        at
                    ],
                );
                stmt(
                    "UPDATE repository_mirror_schedule SET sync_id = $2 WHERE repository_id = $1",
                    params![*repository_id, sync_id.to_string()],
                );
            }
            RepositoryMirrorSyncFinished {
                repository_id,
                outcome,
                retries_remaining,
                next_sync,
                ..
            } => {
                let status = match outcome {
                    SyncOutcome::Success => SyncStatus::Success,
                    SyncOutcome::Failed => SyncStatus::Fail,
                    SyncOutcome::Cancelled => SyncStatus::Cancel,
                };
                stmt(
                    "UPDATE repository_mirrors SET sync_status = $2, sync_expiration_date = NULL,
                        retries_remaining = $3, updated_at = $4
                     WHERE repository_id = $1",
                    params![
                        *repository_id,
                        status.as_str(),
                        i64::from(*retries_remaining),
                        at
                    ],
                );
                stmt(
                    "INSERT INTO repository_mirror_schedule (repository_id, next_sync_at)
                     VALUES ($1, $2)
                     ON CONFLICT (repository_id) DO UPDATE SET next_sync_at = $2, sync_id = NULL",
                    params![*repository_id, next_sync.timestamp_micros()],
                );
            }
            RepositoryDeleted { repository_id, .. } => {
                stmt(
                    "DELETE FROM repository_mirrors WHERE repository_id = $1",
                    params![*repository_id],
                );
                stmt(
                    "DELETE FROM repository_mirror_schedule WHERE repository_id = $1",
                    params![*repository_id],
                );
            }
            _ => {}
        }
    }
}
