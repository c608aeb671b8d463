//! The repository notifications projector: each live notification with its configuration and
//! failure count (the notification routes and the delivery worker read it). A deleted
//! notification, or every notification of a deleted repository, leaves the table; the history
//! stays in its stream.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct RepositoryNotifications;

const SCHEMA: &[&str] = &[
    // `config` and `event_config` are JSON text; `created_position` is the position of the
    // created event: a notification fires only for what happened after it.
    "CREATE TABLE IF NOT EXISTS repository_notifications (
        id TEXT PRIMARY KEY,
        repository_id TEXT NOT NULL,
        event TEXT NOT NULL,
        method TEXT NOT NULL,
        title TEXT,
        config TEXT NOT NULL,
        event_config TEXT NOT NULL,
        number_of_failures BIGINT NOT NULL,
        created_position BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS repository_notifications_by_repository
        ON repository_notifications (repository_id, event, created_position)",
];

const TABLES: &[(&str, &str)] = &[("repository_notifications", "id")];

impl Projector for RepositoryNotifications {
    fn name(&self) -> &'static str {
        "repository_notifications"
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [(&'static str, &'static str)] {
        TABLES
    }

    fn project(&self, recorded: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>) {
        use DomainEvent::*;
        let mut stmt = |sql, params| out.push(Stmt::new(sql, params));
        let failures = |id, n: u64| {
            (
                "UPDATE repository_notifications SET number_of_failures = $2 WHERE id = $1",
                params![id, n],
            )
        };
        match event {
            RepositoryNotificationCreated {
                notification_id,
                repository_id,
                event,
                method,
                title,
                config,
                event_config,
            } => stmt(
                "INSERT INTO repository_notifications (id, repository_id, event, method, title,
                    config, event_config, number_of_failures, created_position, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    *notification_id,
                    *repository_id,
                    event.as_str(),
                    method.as_str(),
                    title.clone(),
                    config.to_string(),
                    event_config.to_string(),
                    recorded.position,
                    recorded.recorded_at.timestamp_micros()
                ],
            ),
            RepositoryNotificationDeleted {
                notification_id, ..
            } => stmt(
                "DELETE FROM repository_notifications WHERE id = $1",
                params![*notification_id],
            ),
            RepositoryNotificationReset {
                notification_id, ..
            }
            | RepositoryNotificationDelivered {
                notification_id, ..
            } => {
                let (sql, p) = failures(*notification_id, 0);
                stmt(sql, p)
            }
            RepositoryNotificationFailed {
                notification_id,
                number_of_failures,
                ..
            } => {
                let (sql, p) = failures(*notification_id, u64::from(*number_of_failures));
                stmt(sql, p)
            }
            RepositoryDeleted { repository_id, .. } => stmt(
                "DELETE FROM repository_notifications WHERE repository_id = $1",
                params![*repository_id],
            ),
            _ => {}
        }
    }
}
