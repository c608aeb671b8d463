//! The event subscriptions projector: each webhook subscription with its selector and status
//! (the delivery worker and the subscription routes read it). A deleted subscription leaves
//! the table; its history stays in its stream. Never the secret: that is not in the log.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Subscriptions;

const SCHEMA: &[&str] = &[
    // `types` is a JSON array; `status` is `active` or `paused`.
    "CREATE TABLE IF NOT EXISTS event_subscriptions (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        types TEXT NOT NULL,
        namespace TEXT,
        namespace_id TEXT,
        repository TEXT,
        from_position BIGINT NOT NULL,
        status TEXT NOT NULL,
        paused_reason TEXT,
        paused_checkpoint BIGINT,
        created_by TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS event_subscriptions_by_namespace ON event_subscriptions (namespace_id, id)",
];

const TABLES: &[(&str, &str)] = &[("event_subscriptions", "id")];

impl Projector for Subscriptions {
    fn name(&self) -> &'static str {
        "subscriptions"
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
        match event {
            EventSubscriptionCreated {
                subscription_id,
                url,
                selector,
                from_position,
            } => {
                let actor = recorded.meta.actor.as_ref().map(|a| a.name.clone());
                stmt(
                    "INSERT INTO event_subscriptions (id, url, types, namespace, namespace_id,
                        repository, from_position, status, created_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        *subscription_id,
                        url.as_str(),
                        serde_json::Value::from(selector.types.clone()).to_string(),
                        selector.namespace.clone(),
                        selector.namespace_id,
                        selector.repository.clone(),
                        *from_position,
                        actor,
                        at
                    ],
                )
            }
            EventSubscriptionPaused {
                subscription_id,
                reason,
                checkpoint,
            } => stmt(
                "UPDATE event_subscriptions SET status = 'paused', paused_reason = $2,
                    paused_checkpoint = $3, updated_at = $4 WHERE id = $1",
                params![*subscription_id, reason.as_str(), *checkpoint, at],
            ),
            EventSubscriptionResumed { subscription_id } => stmt(
                "UPDATE event_subscriptions SET status = 'active', paused_reason = NULL,
                    paused_checkpoint = NULL, updated_at = $2 WHERE id = $1",
                params![*subscription_id, at],
            ),
            EventSubscriptionDeleted { subscription_id } => stmt(
                "DELETE FROM event_subscriptions WHERE id = $1",
                params![*subscription_id],
            ),
            _ => {}
        }
    }
}
