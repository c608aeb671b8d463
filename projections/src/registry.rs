//! The registry projector: what each repository holds (blob links, manifests and what they
//! reference, tags with their full history, manifest labels) and the DigitalOcean registries with
//! their garbage collections.
//!
//! Tag history is one row per period a tag pointed at a manifest, keyed by the position of the
//! event that began it; a change ends the open row (`end_ts`) and opens a new one. Times are
//! microseconds since the epoch.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;
use annals_domain::manifest::Descriptor;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct RegistryContent;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS blob_links (
        repository_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (repository_id, digest)
    )",
    "CREATE INDEX IF NOT EXISTS blob_links_by_digest ON blob_links (digest)",
    "CREATE TABLE IF NOT EXISTS manifests (
        repository_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        layers_size BIGINT NOT NULL,
        config_digest TEXT,
        artifact_type TEXT,
        subject TEXT,
        annotations TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (repository_id, digest)
    )",
    "CREATE INDEX IF NOT EXISTS manifests_by_subject ON manifests (repository_id, subject)",
    "CREATE TABLE IF NOT EXISTS manifest_refs (
        repository_id TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        ref_digest TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        PRIMARY KEY (repository_id, manifest_digest, seq)
    )",
    "CREATE INDEX IF NOT EXISTS manifest_refs_by_ref ON manifest_refs (ref_digest)",
    "CREATE TABLE IF NOT EXISTS tags (
        id BIGINT PRIMARY KEY,
        repository_id TEXT NOT NULL,
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        start_ts BIGINT NOT NULL,
        end_ts BIGINT,
        expiration BIGINT,
        reversion BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS tags_by_name ON tags (repository_id, name, id)",
    "CREATE INDEX IF NOT EXISTS tags_by_digest ON tags (repository_id, digest, end_ts)",
    "CREATE TABLE IF NOT EXISTS manifest_labels (
        id TEXT PRIMARY KEY,
        repository_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        media_type TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS manifest_labels_by_manifest ON manifest_labels (repository_id, digest)",
    "CREATE TABLE IF NOT EXISTS registries (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        namespace_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        tier TEXT NOT NULL,
        region TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        deleted BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS registries_by_owner ON registries (owner_id, deleted)",
    "CREATE INDEX IF NOT EXISTS registries_by_name ON registries (name, deleted)",
    "CREATE TABLE IF NOT EXISTS gc_runs (
        id TEXT PRIMARY KEY,
        registry_id TEXT NOT NULL,
        registry_name TEXT NOT NULL,
        gc_type TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        blobs_deleted BIGINT NOT NULL DEFAULT 0,
        freed_bytes BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS gc_runs_by_registry ON gc_runs (registry_name, created_at)",
    "CREATE TABLE IF NOT EXISTS registry_credentials (
        sha256 TEXT PRIMARY KEY,
        credential_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        read_write BIGINT NOT NULL,
        expires_at BIGINT,
        created_at BIGINT NOT NULL
    )",
    // The registry's size as last computed (Quay's `/superuser/registrysize/`): one row, id 1.
    "CREATE TABLE IF NOT EXISTS registry_size (
        id BIGINT PRIMARY KEY,
        size_bytes BIGINT NOT NULL,
        last_ran BIGINT
    )",
];

const TABLES: &[(&str, &str)] = &[
    ("blob_links", "repository_id, digest"),
    ("manifests", "repository_id, digest"),
    ("manifest_refs", "repository_id, manifest_digest, seq"),
    ("tags", "id"),
    ("manifest_labels", "id"),
    ("registries", "id"),
    ("gc_runs", "id"),
    ("registry_credentials", "sha256"),
    ("registry_size", "id"),
];

const END_TAG: &str = "UPDATE tags SET end_ts = $3 WHERE repository_id = $1 AND name = $2 AND end_ts IS NULL AND id < $4";
const OPEN_TAG: &str = "INSERT INTO tags (id, repository_id, name, digest, start_ts, reversion)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";

impl Projector for RegistryContent {
    fn name(&self) -> &'static str {
        "registry"
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
        let position = recorded.position;
        let mut stmt = |sql, params| out.push(Stmt::new(sql, params));
        match event {
            BlobUploaded { repository_id, digest, size, .. } => stmt(
                "INSERT INTO blob_links (repository_id, digest, size, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repository_id, digest) DO NOTHING",
                params![*repository_id, digest.to_string(), *size, at],
            ),
            BlobUnlinked { repository_id, digest } => stmt(
                "DELETE FROM blob_links WHERE repository_id = $1 AND digest = $2",
                params![*repository_id, digest.to_string()],
            ),
            ManifestPushed {
                repository_id, digest, media_type, size, tag, config, layers, manifests, subject,
                artifact_type, annotations, ..
            } => {
                let layers_size: u64 = layers.iter().map(|l| l.size).sum();
                stmt(
                    "INSERT INTO manifests (repository_id, digest, media_type, size, layers_size, config_digest,
                       artifact_type, subject, annotations, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (repository_id, digest) DO NOTHING",
                    params![
                        *repository_id,
                        digest.to_string(),
                        media_type.as_str(),
                        *size,
                        layers_size,
                        config.as_ref().map(|c| c.digest.to_string()),
                        artifact_type.as_deref(),
                        subject.as_ref().map(|s| s.digest.to_string()),
                        serde_json::to_string(annotations).unwrap_or_else(|_| "{}".into()),
                        at
                    ],
                );
                let refs = config
                    .iter()
                    .map(|c| ("config", c))
                    .chain(layers.iter().map(|l| ("layer", l)))
                    .chain(manifests.iter().map(|m| ("manifest", m)));
                for (seq, (kind, Descriptor { digest: r, media_type, size, .. })) in refs.enumerate() {
                    stmt(
                        "INSERT INTO manifest_refs (repository_id, manifest_digest, seq, kind, ref_digest, media_type, size)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repository_id, manifest_digest, seq) DO NOTHING",
                        params![*repository_id, digest.to_string(), seq as i64, kind, r.to_string(), media_type.as_str(), *size],
                    );
                }
                if let Some(tag) = tag {
                    // Re-pushing the digest the tag already has changes nothing in its history.
                    stmt(
                        "UPDATE tags SET end_ts = $3 WHERE repository_id = $1 AND name = $2 AND end_ts IS NULL AND id < $4 AND digest <> $5",
                        params![*repository_id, tag.as_str(), at, position, digest.to_string()],
                    );
                    stmt(
                        "INSERT INTO tags (id, repository_id, name, digest, start_ts, reversion)
                         SELECT CAST($1 AS BIGINT), $2, $3, $4, CAST($5 AS BIGINT), 0
                         WHERE NOT EXISTS (SELECT 1 FROM tags WHERE repository_id = $2 AND name = $3 AND end_ts IS NULL AND id < CAST($1 AS BIGINT))
                         ON CONFLICT (id) DO NOTHING",
                        params![position, *repository_id, tag.as_str(), digest.to_string(), at],
                    );
                }
            }
            ManifestDeleted { repository_id, digest, .. } => {
                stmt(
                    "UPDATE tags SET end_ts = $3 WHERE repository_id = $1 AND digest = $2 AND end_ts IS NULL",
                    params![*repository_id, digest.to_string(), at],
                );
                for sql in [
                    "DELETE FROM manifests WHERE repository_id = $1 AND digest = $2",
                    "DELETE FROM manifest_refs WHERE repository_id = $1 AND manifest_digest = $2",
                    "DELETE FROM manifest_labels WHERE repository_id = $1 AND digest = $2",
                ] {
                    stmt(sql, params![*repository_id, digest.to_string()]);
                }
            }
            TagCreated { repository_id, tag, digest }
            | TagMoved { repository_id, tag, digest, .. }
            | TagRestored { repository_id, tag, digest, .. } => {
                let reversion = matches!(event, TagRestored { .. });
                stmt(END_TAG, params![*repository_id, tag.as_str(), at, position]);
                stmt(OPEN_TAG, params![position, *repository_id, tag.as_str(), digest.to_string(), at, reversion]);
            }
            TagDeleted { repository_id, tag, .. } => {
                stmt(END_TAG, params![*repository_id, tag.as_str(), at, position])
            }
            // A tag deleted by an auto-prune policy ends like a deleted one.
            TagAutopruned { repository_id, tag, .. } => {
                stmt(END_TAG, params![*repository_id, tag.as_str(), at, position])
            }
            TagExpirationChanged { repository_id, tag, expiration, .. } => stmt(
                "UPDATE tags SET expiration = $3 WHERE repository_id = $1 AND name = $2 AND end_ts IS NULL",
                params![*repository_id, tag.as_str(), expiration.map(|e| e.timestamp_micros())],
            ),
            ManifestLabelAdded { repository_id, digest, label_id, key, value, media_type } => stmt(
                "INSERT INTO manifest_labels (id, repository_id, digest, key, value, media_type, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                params![*label_id, *repository_id, digest.to_string(), key.as_str(), value.as_str(), media_type.as_str(), at],
            ),
            ManifestLabelDeleted { label_id, .. } => {
                stmt("DELETE FROM manifest_labels WHERE id = $1", params![*label_id])
            }
            RepositoryDeleted { repository_id, .. } => {
                // Its content is no longer referenced: the next collection may free it.
                stmt(
                    "UPDATE tags SET end_ts = $2 WHERE repository_id = $1 AND end_ts IS NULL",
                    params![*repository_id, at],
                );
                for sql in [
                    "DELETE FROM manifests WHERE repository_id = $1",
                    "DELETE FROM manifest_refs WHERE repository_id = $1",
                    "DELETE FROM manifest_labels WHERE repository_id = $1",
                    "DELETE FROM blob_links WHERE repository_id = $1",
                ] {
                    stmt(sql, params![*repository_id]);
                }
            }
            OrganizationDeleted { organization_id, .. } => {
                for sql in [
                    "DELETE FROM manifests WHERE repository_id IN (SELECT id FROM repositories WHERE namespace_id = $1)",
                    "DELETE FROM manifest_refs WHERE repository_id IN (SELECT id FROM repositories WHERE namespace_id = $1)",
                    "DELETE FROM manifest_labels WHERE repository_id IN (SELECT id FROM repositories WHERE namespace_id = $1)",
                    "DELETE FROM blob_links WHERE repository_id IN (SELECT id FROM repositories WHERE namespace_id = $1)",
                ] {
                    stmt(sql, params![*organization_id]);
                }
            }
            RegistryCreated { registry_id, name, namespace_id, owner_id, tier, region } => stmt(
                "INSERT INTO registries (id, name, namespace_id, owner_id, tier, region, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                 ON CONFLICT (id) DO UPDATE SET name = $2, namespace_id = $3, tier = $5, region = $6,
                   created_at = $7, updated_at = $7, deleted = 0",
                params![*registry_id, name.as_str(), *namespace_id, *owner_id, tier.as_str(), region.as_str(), at],
            ),
            RegistrySubscriptionChanged { registry_id, tier, .. } => stmt(
                "UPDATE registries SET tier = $2, updated_at = $3 WHERE id = $1",
                params![*registry_id, tier.as_str(), at],
            ),
            RegistryDeleted { registry_id, .. } => stmt(
                "UPDATE registries SET deleted = 1, updated_at = $2 WHERE id = $1",
                params![*registry_id, at],
            ),
            GarbageCollectionRequested { registry_id, name, gc_id, gc_type } => stmt(
                "INSERT INTO gc_runs (id, registry_id, registry_name, gc_type, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'requested', $5, $5) ON CONFLICT (id) DO NOTHING",
                params![*gc_id, *registry_id, name.as_str(), gc_type.as_str(), at],
            ),
            GarbageCollectionStatusChanged { gc_id, status, .. } => stmt(
                "UPDATE gc_runs SET status = $2, updated_at = $3 WHERE id = $1",
                params![*gc_id, status.as_str(), at],
            ),
            GarbageCollectionBlobsDeleted { gc_id, blobs, freed_bytes, .. } => {
                stmt(
                    "UPDATE gc_runs SET blobs_deleted = blobs_deleted + $2, freed_bytes = freed_bytes + $3, updated_at = $4 WHERE id = $1",
                    params![*gc_id, blobs.len() as i64, *freed_bytes, at],
                );
                for (digest, _) in blobs {
                    stmt("DELETE FROM blob_links WHERE digest = $1", params![digest.to_string()]);
                }
            }
            GarbageCollectionFinished { gc_id, status, .. } => stmt(
                "UPDATE gc_runs SET status = $2, updated_at = $3 WHERE id = $1",
                params![*gc_id, status.as_str(), at],
            ),
            RegistryCredentialIssued { user_id, credential_id, token_sha256, read_write, expires_at } => stmt(
                "INSERT INTO registry_credentials (sha256, credential_id, user_id, read_write, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
                params![token_sha256.as_str(), *credential_id, *user_id, *read_write, expires_at.map(|e| e.timestamp_micros()), at],
            ),
            // The size is computed here, in order with the content events before it, so a
            // replay computes the same number.
            RegistrySizeQueued {} => {
                stmt(
                    "INSERT INTO registry_size (id, size_bytes) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
                    params![],
                );
                stmt(
                    "UPDATE registry_size SET last_ran = $1, size_bytes = (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT)
                       FROM (SELECT DISTINCT ref_digest, size FROM manifest_refs WHERE kind <> 'manifest') referenced)
                     WHERE id = 1",
                    params![at / 1000],
                );
            }
            _ => {}
        }
    }
}
