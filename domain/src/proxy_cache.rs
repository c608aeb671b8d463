//! An organization's proxy cache (Quay's `ProxyCacheConfig`): a pull of `<org>/<path>` is
//! answered from `<upstream_registry>/<path>`, fetched on a miss and kept for `expiration_s`.
//! The configuration lives on the organization's stream, so every push into the organization
//! (which loads and guards the organization) knows that only the cache itself may write there.
//! The upstream password is never in the log: the event names a credential id, and the secret
//! is kept beside the mirrors' upstream passwords.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::{Actor, ActorKind};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{NamespaceName, RepositoryName};

/// Quay's default: a fetched tag is served locally for a day before the upstream is asked again.
pub const DEFAULT_EXPIRATION_S: u64 = 86_400;
/// The longest an organization may keep a fetched tag without asking the upstream: one year.
pub const MAX_EXPIRATION_S: u64 = 365 * 24 * 3600;
/// The longest `upstream_registry` (`host[:port][/namespace...]`).
pub const MAX_UPSTREAM_CHARS: usize = 255;
/// The name of the system actor whose pushes store what the cache fetched: the only writer of
/// a proxy-cache organization.
pub const FETCHER: &str = "proxy cache";

/// How an organization reaches the registry it caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyCacheConfig {
    /// `host[:port]` and, optionally, a namespace path prefixed to every pulled path.
    pub upstream_registry: String,
    pub username: Option<String>,
    /// Names the kept password; `None` when there is none.
    pub credential_id: Option<Uuid>,
    /// Seconds a fetched tag is served without asking the upstream.
    pub expiration_s: u64,
    /// Plain HTTP allowed, TLS not verified.
    pub insecure: bool,
}

impl ProxyCacheConfig {
    /// The registry's `host[:port]`.
    pub fn registry(&self) -> &str {
        self.upstream_registry
            .split_once('/')
            .map_or(self.upstream_registry.as_str(), |(host, _)| host)
    }

    /// The upstream repository a pull of `path` in the organization stands for: the namespace
    /// of `upstream_registry` (if any) and the path; Docker Hub's official images live under
    /// `library/`, as Docker's clients assume.
    pub fn upstream_repository(&self, path: &RepositoryName) -> String {
        match self.upstream_registry.split_once('/') {
            Some((_, namespace)) => format!("{namespace}/{}", path.as_str()),
            None if self.registry() == "docker.io" && !path.as_str().contains('/') => {
                format!("library/{}", path.as_str())
            }
            None => path.as_str().to_owned(),
        }
    }
}

/// What an organization's administrators may do to its proxy cache.
#[derive(Debug, Clone, PartialEq)]
pub enum ProxyCacheCommand {
    Create(ProxyCacheConfig),
    Delete,
}

/// Whether `actor` is the cache storing what it fetched.
pub fn is_fetcher(actor: &Actor) -> bool {
    actor.kind == ActorKind::System && actor.name == FETCHER
}

/// The actor of the pushes a fetch makes.
pub fn fetcher() -> Actor {
    Actor {
        kind: ActorKind::System,
        name: FETCHER.into(),
        id: None,
    }
}

/// Whether `actor` may change content in a namespace whose proxy cache is `config`: anyone the
/// access rules let in an ordinary namespace; only the cache itself in a proxy-cache one (its
/// content is the upstream's).
pub fn check_write(config: Option<&ProxyCacheConfig>, actor: &Actor) -> Result<(), DomainError> {
    match config {
        Some(_) if !is_fetcher(actor) => Err(DomainError::Forbidden(
            "Cannot push to a proxy cache organization: its content comes from the upstream registry"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// `host[:port][/namespace...]`: no scheme, a host of letters, digits, `.` and `-` (or a
/// bracketed IPv6 address), a port from 1 to 65535, lowercase path segments.
pub fn check_upstream(upstream: &str) -> Result<(), DomainError> {
    let bad = || {
        DomainError::InvalidArgument(format!(
            "Invalid upstream_registry {upstream:.64?}: use host[:port][/namespace]"
        ))
    };
    if upstream.is_empty() || upstream.chars().count() > MAX_UPSTREAM_CHARS {
        return Err(bad());
    }
    let (authority, path) = match upstream.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (upstream, None),
    };
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad());
        }
        match after {
            "" => (v6, None),
            p => (v6, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && (authority.starts_with('[')
            || host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    let path_ok = path.is_none_or(|p| RepositoryName::parse(p).is_ok());
    if host_ok && port_ok && path_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Checks every value of a configuration.
pub fn check_config(config: &ProxyCacheConfig) -> Result<(), DomainError> {
    check_upstream(&config.upstream_registry)?;
    if !(1..=MAX_EXPIRATION_S).contains(&config.expiration_s) {
        return Err(DomainError::InvalidArgument(format!(
            "expiration_s must be between 1 and {MAX_EXPIRATION_S} seconds"
        )));
    }
    if let Some(username) = &config.username {
        crate::mirror::check_setting(username)?;
    }
    Ok(())
}

/// What `command` appends to the organization `organization_id` (called `name`), whose proxy
/// cache is `current`.
pub fn decide(
    organization_id: Uuid,
    name: &NamespaceName,
    current: Option<&ProxyCacheConfig>,
    command: &ProxyCacheCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match (command, current) {
        (ProxyCacheCommand::Create(_), Some(_)) => Err(DomainError::AlreadyExists(
            "Proxy Cache Configuration already exists".into(),
        )),
        (ProxyCacheCommand::Create(config), None) => {
            check_config(config)?;
            Ok(vec![DomainEvent::OrganizationProxyCacheCreated {
                organization_id,
                name: name.clone(),
                config: config.clone(),
            }])
        }
        (ProxyCacheCommand::Delete, None) => Err(DomainError::NotFound(
            "Proxy Cache Configuration not found".into(),
        )),
        (ProxyCacheCommand::Delete, Some(_)) => {
            Ok(vec![DomainEvent::OrganizationProxyCacheDeleted {
                organization_id,
                name: name.clone(),
            }])
        }
    }
}

/// Whether a tag the cache last asked the upstream about at `fetched_at` (microseconds since
/// the epoch) may still be served without asking again at `now`.
pub fn is_fresh(fetched_at: i64, now: i64, expiration_s: u64) -> bool {
    let expiration_us = i64::try_from(expiration_s.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    now.saturating_sub(fetched_at) < expiration_us
}

/// What one visit to the upstream found (see `repository.proxy_cache_fetched.v1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    pub upstream: String,
    pub reference: String,
    pub tag: Option<crate::tag::TagName>,
    pub digest: crate::digest::Digest,
    pub copied: bool,
    pub blobs_fetched: u32,
    pub bytes_fetched: u64,
    pub triggered_by: Option<String>,
}

/// The record of `fetch` into the repository `repository_id` of a namespace whose proxy cache
/// is `config`: refused once the namespace no longer caches anything.
pub fn record_fetch(
    config: Option<&ProxyCacheConfig>,
    repository_id: Uuid,
    fetch: &Fetch,
) -> Result<Vec<DomainEvent>, DomainError> {
    if config.is_none() {
        return Err(DomainError::NotFound(
            "Proxy Cache Configuration not found".into(),
        ));
    }
    Ok(vec![DomainEvent::RepositoryProxyCacheFetched {
        repository_id,
        upstream: fetch.upstream.clone(),
        reference: fetch.reference.clone(),
        tag: fetch.tag.clone(),
        digest: fetch.digest.clone(),
        copied: fetch.copied,
        blobs_fetched: fetch.blobs_fetched,
        bytes_fetched: fetch.bytes_fetched,
        triggered_by: fetch.triggered_by.clone(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(upstream: &str) -> ProxyCacheConfig {
        ProxyCacheConfig {
            upstream_registry: upstream.into(),
            username: None,
            credential_id: None,
            expiration_s: DEFAULT_EXPIRATION_S,
            insecure: false,
        }
    }

    #[test]
    fn upstreams_are_a_host_an_optional_port_and_an_optional_namespace() {
        for ok in [
            "quay.io",
            "quay.io/projectquay",
            "127.0.0.1:5000",
            "registry.example.com:443/a/b",
            "[::1]:5000/ns",
            "localhost",
        ] {
            assert!(check_upstream(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "https://quay.io",
            "quay.io/",
            "quay.io//x",
            "quay.io/UPPER",
            "quay.io:0",
            "quay.io:99999",
            "quay.io:",
            "-bad.io",
            "a b",
            "[zz]:1",
            &"a".repeat(300),
        ] {
            assert!(check_upstream(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_upstream_repository_joins_the_namespace_and_the_path() {
        let path = RepositoryName::parse("alpine").unwrap();
        assert_eq!(config("quay.io").upstream_repository(&path), "alpine");
        assert_eq!(
            config("docker.io").upstream_repository(&path),
            "library/alpine"
        );
        assert_eq!(
            config("quay.io/team").upstream_repository(&path),
            "team/alpine"
        );
        assert_eq!(config("host:5000/team").registry(), "host:5000");
    }

    #[test]
    fn one_configuration_at_a_time_and_bounded() {
        let name = NamespaceName::parse("cache").unwrap();
        let id = Uuid::from_u128(1);
        let created = decide(
            id,
            &name,
            None,
            &ProxyCacheCommand::Create(config("quay.io")),
        );
        assert_eq!(created.unwrap().len(), 1);
        let c = config("quay.io");
        assert!(matches!(
            decide(id, &name, Some(&c), &ProxyCacheCommand::Create(c.clone())),
            Err(DomainError::AlreadyExists(_))
        ));
        assert!(matches!(
            decide(id, &name, None, &ProxyCacheCommand::Delete),
            Err(DomainError::NotFound(_))
        ));
        let mut forever = config("quay.io");
        forever.expiration_s = MAX_EXPIRATION_S + 1;
        assert!(decide(id, &name, None, &ProxyCacheCommand::Create(forever)).is_err());
    }

    #[test]
    fn a_fetch_is_fresh_for_its_expiration() {
        assert!(is_fresh(0, 999_999, 1));
        assert!(!is_fresh(0, 1_000_000, 1));
        assert!(is_fresh(0, 3_600_000_000, MAX_EXPIRATION_S));
        assert!(!is_fresh(i64::MIN, i64::MAX, 60));
    }

    #[test]
    fn only_the_cache_writes_into_a_proxy_cache_organization() {
        let c = config("quay.io");
        let user = Actor::user(Uuid::from_u128(2), "alice");
        assert!(check_write(None, &user).is_ok());
        assert!(matches!(
            check_write(Some(&c), &user),
            Err(DomainError::Forbidden(_))
        ));
        assert!(check_write(Some(&c), &fetcher()).is_ok());
        assert!(check_write(Some(&c), &Actor::system()).is_err());
    }
}
