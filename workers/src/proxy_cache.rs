//! Pulls through a proxy-cache organization: before a pull of `<org>/<path>:<reference>` is
//! served, [`bring`] makes sure the repository holds what the upstream has — fetched on a miss,
//! kept for `expiration_s` after the last visit, then asked about again (copied anew when the
//! tag moved; the cached copy served when the upstream is unreachable).
//!
//! Every visit to the upstream is an event: the copy goes through the ordinary push commands
//! ([`copy_image`], as the system actor `proxy cache`, the only writer of such an organization),
//! then `repository.proxy_cache_fetched.v1` records what was found. A pull served from the
//! cache without asking the upstream appends nothing here (the pull itself is recorded by the
//! caller as any pull).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use annals_commands::{CommandService, Done, Envelope, RepositoryRef};
use annals_domain::proxy_cache::{self, Fetch, ProxyCacheConfig};
use annals_domain::{Digest, TagName};
use annals_projections::ProjectionWatch;
use annals_projections::queries::{content, proxy_cache as queries, repositories};
use annals_projections::sql::ReadDb;
use annals_store::blobs::BlobStore;

use crate::delivery::DeliveryDb;
use crate::upstream::{
    Destination, Endpoint, Upstream, UpstreamError, UpstreamSettings, copy_image,
};

/// What a pull through the cache needs.
pub struct ProxyCache<'a> {
    pub commands: &'a CommandService,
    pub watch: &'a ProjectionWatch,
    pub blobs: &'a BlobStore,
    pub db: &'a dyn ReadDb,
    pub delivery: &'a DeliveryDb,
    pub settings: &'a UpstreamSettings,
}

/// What a pull asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Tag(TagName),
    Digest(Digest),
}

impl Wanted {
    pub fn as_str(&self) -> String {
        match self {
            Wanted::Tag(t) => t.to_string(),
            Wanted::Digest(d) => d.to_string(),
        }
    }
}

/// One fetch at a time per key (a repository and a reference) in this process: concurrent
/// pulls of one miss wait for the first, then find what it brought instead of fetching again.
#[derive(Default)]
pub struct FetchLocks {
    held: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl FetchLocks {
    /// Waits until no other fetch of `key` runs; the fetch is this caller's until the guard
    /// drops.
    pub async fn lock(&self, key: String) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.retain(|_, lock| lock.strong_count() > 0);
            match held.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    held.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

/// The envelope of the cache's own commands for a pull issued under `pull`: the system actor
/// `proxy cache`, caused by and correlated with the pull (whose client details it keeps).
pub fn fetch_envelope(pull: &Envelope) -> Envelope {
    Envelope {
        actor: proxy_cache::fetcher(),
        ..pull.follow_up("proxy cache fetch")
    }
}

impl ProxyCache<'_> {
    /// Brings `wanted` of `target` (in a namespace whose proxy cache is `config`) up to date for
    /// a pull issued under `pull`; answers the last command it ran, if any, for the caller to
    /// wait on. An error means there is nothing cached to serve.
    pub async fn bring(
        &self,
        config: &ProxyCacheConfig,
        target: &RepositoryRef,
        wanted: &Wanted,
        pull: &Envelope,
    ) -> Result<Option<Done>, UpstreamError> {
        let local = repositories::get(self.db, target.namespace.as_str(), target.name.as_str())
            .await
            .map_err(read_error)?;
        let cached = match (&local, wanted) {
            (None, _) => None,
            (Some(repo), Wanted::Digest(d)) => content::manifest(self.db, repo.id, d)
                .await
                .map_err(read_error)?
                .map(|m| m.digest),
            (Some(repo), Wanted::Tag(t)) => content::tag_target(self.db, repo.id, t.as_str())
                .await
                .map_err(read_error)?,
        };
        // Content is addressed by its digest: a cached manifest never goes stale.
        if matches!(wanted, Wanted::Digest(_)) && cached.is_some() {
            return Ok(None);
        }
        if let (Some(repo), Some(_)) = (&local, &cached) {
            let last = queries::last_fetch(self.db, repo.id, &wanted.as_str())
                .await
                .map_err(read_error)?;
            let now = chrono::Utc::now().timestamp_micros();
            if last.is_some_and(|l| proxy_cache::is_fresh(l.fetched_at, now, config.expiration_s)) {
                return Ok(None);
            }
        }
        match self
            .visit(config, target, wanted, cached.as_ref(), pull)
            .await
        {
            Ok(done) => Ok(Some(done)),
            // Expired but the upstream is away: the copy we hold is better than nothing.
            Err(e) if cached.is_some() && !matches!(e, UpstreamError::Command(_)) => {
                tracing::warn!(
                    "proxy cache {target}: serving the cached {} ({e})",
                    wanted.as_str()
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Asks the upstream about `wanted`, copies it when `cached` is not what it has, and
    /// records the visit.
    async fn visit(
        &self,
        config: &ProxyCacheConfig,
        target: &RepositoryRef,
        wanted: &Wanted,
        cached: Option<&Digest>,
        pull: &Envelope,
    ) -> Result<Done, UpstreamError> {
        let upstream = self.connect(config).await?;
        let repository = config.upstream_repository(&target.name);
        let reference = wanted.as_str();
        let current = upstream.digest(&repository, &reference).await?;
        let envelope = fetch_envelope(pull);
        let tag = match wanted {
            Wanted::Tag(t) => Some(t.clone()),
            Wanted::Digest(_) => None,
        };
        let (copied, blobs_fetched, bytes_fetched) = if cached == Some(&current) {
            (false, 0, 0)
        } else {
            let into = Destination {
                commands: self.commands,
                watch: self.watch,
                blobs: self.blobs,
                envelope: &envelope,
                target,
            };
            // By the digest just read: the copy is what the record says, even if the tag
            // moves upstream meanwhile.
            let copy = copy_image(
                &upstream,
                &repository,
                &current.to_string(),
                tag.clone(),
                &into,
            )
            .await?;
            (true, copy.blobs_copied, copy.bytes_copied)
        };
        let fetch = Fetch {
            upstream: format!("{}/{repository}", config.registry()),
            reference,
            tag,
            digest: current,
            copied,
            blobs_fetched,
            bytes_fetched,
            triggered_by: Some(pull.actor.name.clone()),
        };
        Ok(self
            .commands
            .record_proxy_fetch(&envelope.follow_up("recorded"), target, fetch)
            .await?)
    }

    async fn connect(&self, config: &ProxyCacheConfig) -> Result<Upstream, UpstreamError> {
        let password = match config.credential_id {
            Some(id) => self
                .delivery
                .mirror_password(id)
                .await
                .map_err(|e| UpstreamError::Invalid(format!("reading the credentials: {e}")))?,
            None => None,
        };
        Upstream::connect(&endpoint(config, password), self.settings).await
    }
}

/// How to reach the registry `config` caches, with its kept `password`.
pub fn endpoint(config: &ProxyCacheConfig, password: Option<String>) -> Endpoint {
    Endpoint {
        registry: config.registry().to_owned(),
        insecure: config.insecure,
        username: config.username.clone(),
        password,
        ..Endpoint::default()
    }
}

/// A read-model failure, as the upstream errors callers sort.
fn read_error(e: annals_projections::sql::DbError) -> UpstreamError {
    UpstreamError::Invalid(format!("reading the read models: {e}"))
}
