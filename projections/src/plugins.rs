//! The plugins projector: SpaceONE repository plugins (by domain, with their current fields)
//! and Gerrit plugins (with the jar each runs). Deregistered SpaceONE plugins leave the table;
//! their history stays in their streams.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Plugins;

const SCHEMA: &[&str] = &[
    // JSON fields are stored as JSON text; `state` is `ENABLED` or `DISABLED`.
    "CREATE TABLE IF NOT EXISTS spaceone_plugins (
        plugin_id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        name TEXT NOT NULL,
        service_type TEXT NOT NULL,
        image TEXT NOT NULL,
        provider TEXT NOT NULL,
        registry_type TEXT NOT NULL,
        registry_config TEXT NOT NULL,
        capability TEXT NOT NULL,
        template TEXT NOT NULL,
        docs TEXT NOT NULL,
        labels TEXT NOT NULL,
        tags TEXT NOT NULL,
        project_id TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS spaceone_plugins_by_org ON spaceone_plugins (organization_id, plugin_id)",
    "CREATE TABLE IF NOT EXISTS gerrit_plugins (
        id TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        api_version TEXT,
        jar_digest TEXT NOT NULL,
        jar_size BIGINT NOT NULL,
        source TEXT NOT NULL,
        disabled BIGINT NOT NULL,
        revision BIGINT NOT NULL,
        installed_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
];

const TABLES: &[(&str, &str)] = &[("spaceone_plugins", "plugin_id"), ("gerrit_plugins", "id")];

impl Projector for Plugins {
    fn name(&self) -> &'static str {
        "plugins"
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
        let json = |v: &serde_json::Value| v.to_string();
        let opt_json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
        match event {
            SpacePluginRegistered { plugin_id, organization_id, spec } => stmt(
                "INSERT INTO spaceone_plugins (plugin_id, organization_id, name, service_type, image,
                    provider, registry_type, registry_config, capability, template, docs, labels, tags,
                    project_id, state, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'ENABLED', $15, $15)
                 ON CONFLICT (plugin_id) DO NOTHING",
                params![
                    plugin_id.as_str(),
                    *organization_id,
                    spec.name.as_str(),
                    spec.service_type.as_str(),
                    spec.image.to_string(),
                    spec.provider.as_str(),
                    spec.registry_type.as_str(),
                    json(&spec.registry_config),
                    json(&spec.capability),
                    json(&spec.template),
                    json(&spec.docs),
                    json(&spec.labels),
                    json(&spec.tags),
                    spec.project_id.as_str(),
                    at
                ],
            ),
            SpacePluginUpdated { plugin_id, changes } => stmt(
                "UPDATE spaceone_plugins SET name = COALESCE($2, name),
                    capability = COALESCE($3, capability), template = COALESCE($4, template),
                    docs = COALESCE($5, docs), labels = COALESCE($6, labels),
                    tags = COALESCE($7, tags), updated_at = $8
                 WHERE plugin_id = $1",
                params![
                    plugin_id.as_str(),
                    changes.name.clone(),
                    opt_json(&changes.capability),
                    opt_json(&changes.template),
                    opt_json(&changes.docs),
                    opt_json(&changes.labels),
                    opt_json(&changes.tags),
                    at
                ],
            ),
            SpacePluginEnabled { plugin_id } => stmt(
                "UPDATE spaceone_plugins SET state = 'ENABLED', updated_at = $2 WHERE plugin_id = $1",
                params![plugin_id.as_str(), at],
            ),
            SpacePluginDisabled { plugin_id } => stmt(
                "UPDATE spaceone_plugins SET state = 'DISABLED', updated_at = $2 WHERE plugin_id = $1",
                params![plugin_id.as_str(), at],
            ),
            SpacePluginDeregistered { plugin_id } => stmt(
                "DELETE FROM spaceone_plugins WHERE plugin_id = $1",
                params![plugin_id.as_str()],
            ),
            OrganizationDeleted { organization_id, .. } => stmt(
                "DELETE FROM spaceone_plugins WHERE organization_id = $1",
                params![*organization_id],
            ),
            GerritPluginInstalled { plugin_id, jar, source, revision } => stmt(
                "INSERT INTO gerrit_plugins (id, version, api_version, jar_digest, jar_size, source,
                    disabled, revision, installed_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8)
                 ON CONFLICT (id) DO UPDATE SET version = $2, api_version = $3, jar_digest = $4,
                    jar_size = $5, source = $6, disabled = 0, revision = $7, updated_at = $8",
                params![
                    plugin_id.as_str(),
                    jar.version.as_str(),
                    jar.api_version.clone(),
                    jar.digest.to_string(),
                    jar.size as i64,
                    source.as_str(),
                    *revision as i64,
                    at
                ],
            ),
            GerritPluginReloaded { plugin_id, jar, revision } => stmt(
                "UPDATE gerrit_plugins SET version = $2, api_version = $3, jar_digest = $4,
                    jar_size = $5, revision = $6, updated_at = $7 WHERE id = $1",
                params![
                    plugin_id.as_str(),
                    jar.version.as_str(),
                    jar.api_version.clone(),
                    jar.digest.to_string(),
                    jar.size as i64,
                    *revision as i64,
                    at
                ],
            ),
            GerritPluginEnabled { plugin_id } => stmt(
                "UPDATE gerrit_plugins SET disabled = 0, updated_at = $2 WHERE id = $1",
                params![plugin_id.as_str(), at],
            ),
            GerritPluginDisabled { plugin_id } => stmt(
                "UPDATE gerrit_plugins SET disabled = 1, updated_at = $2 WHERE id = $1",
                params![plugin_id.as_str(), at],
            ),
            _ => {}
        }
    }
}
