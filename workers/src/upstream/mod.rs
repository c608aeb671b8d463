//! Upstream registries: what mirrors and proxy caches pull from, through the `oci-client`
//! crate.
//!
//! [`Upstream::connect`] refuses hosts the operator blocked (`ANNALS_UPSTREAM_BLOCKED_HOSTS`:
//! names, and addresses a name resolves to), so a repository administrator cannot point a
//! mirror at the machine's own services. Every call is bounded by [`UpstreamSettings::timeout`].
//! [`copy_image`] brings one image (or index with its manifests) into a repository through the
//! same commands as a push.

mod copy;

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use annals_commands::CommandError;
use annals_domain::Digest;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

pub use copy::{Copied, Destination, copy_image};

/// How to reach one upstream registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]`.
    pub registry: String,
    /// Plain HTTP allowed and TLS certificates not verified.
    pub insecure: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("registry", &self.registry)
            .field("insecure", &self.insecure)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The operator's bounds on every upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSettings {
    /// Host names and addresses no upstream may be (or resolve to).
    pub blocked_hosts: Vec<String>,
    /// The longest wait for one upstream call (a manifest, a tag list, one blob).
    pub timeout: Duration,
    /// The largest blob taken from an upstream.
    pub max_blob_bytes: u64,
}

/// How an upstream let us in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Authenticated,
    Anonymous,
}

/// Why an upstream call failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the upstream host {0} is not allowed")]
    Blocked(String),
    #[error("the upstream registry is unreachable: {0}")]
    Unreachable(String),
    #[error("the upstream registry refused the credentials")]
    Unauthorized,
    #[error("not found in the upstream registry")]
    NotFound,
    #[error("the upstream registry answered something invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Tags read from one upstream repository at most (pages of [`TAG_PAGE`]).
pub const MAX_TAGS: usize = 10_000;
const TAG_PAGE: usize = 1_000;

/// A client for one upstream registry.
pub struct Upstream {
    client: Client,
    auth: RegistryAuth,
    registry: String,
    timeout: Duration,
    max_blob_bytes: u64,
}

impl Upstream {
    /// A client for `endpoint`, refused when its host is blocked or resolves to a blocked
    /// address.
    pub async fn connect(
        endpoint: &Endpoint,
        settings: &UpstreamSettings,
    ) -> Result<Upstream, UpstreamError> {
        let (host, port) = host_of(&endpoint.registry)?;
        check_host(&host, port, &settings.blocked_hosts, settings.timeout).await?;
        // reqwest takes rustls' process default; ring is the provider the rest of the tree uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = ClientConfig {
            protocol: if endpoint.insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: endpoint.insecure,
            read_timeout: Some(settings.timeout),
            connect_timeout: Some(settings.timeout),
            user_agent: concat!("annals/", env!("CARGO_PKG_VERSION")),
            http_proxy: endpoint.http_proxy.clone(),
            https_proxy: endpoint.https_proxy.clone(),
            no_proxy: endpoint.no_proxy.clone(),
            // An index is copied whole, never resolved to one platform.
            platform_resolver: None,
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| UpstreamError::Invalid(e.to_string()))?;
        let auth = match (&endpoint.username, &endpoint.password) {
            (Some(user), Some(password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            (Some(user), None) => RegistryAuth::Basic(user.clone(), String::new()),
            _ => RegistryAuth::Anonymous,
        };
        Ok(Upstream {
            client,
            auth,
            registry: endpoint.registry.clone(),
            timeout: settings.timeout,
            max_blob_bytes: settings.max_blob_bytes,
        })
    }

    fn reference(&self, repository: &str, reference: &str) -> Reference {
        if reference.contains(':') {
            Reference::with_digest(self.registry.clone(), repository.into(), reference.into())
        } else {
            Reference::with_tag(self.registry.clone(), repository.into(), reference.into())
        }
    }

    /// Bounds one upstream call by the timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, OciDistributionError>>,
    ) -> Result<T, UpstreamError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(classify),
            Err(_) => Err(UpstreamError::Unreachable(format!(
                "no answer within {} s",
                self.timeout.as_secs()
            ))),
        }
    }

    /// Checks the credentials against `repository` (which need not exist): `Authenticated`
    /// when credentials were given and accepted, `Anonymous` when none were given and the
    /// registry answers without.
    pub async fn login(&self, repository: &str) -> Result<Login, UpstreamError> {
        let image = self.reference(repository, "latest");
        self.bounded(
            self.client
                .auth(&image, &self.auth, RegistryOperation::Pull),
        )
        .await?;
        // A registry with Basic authentication checks the credentials only on a real request.
        match self
            .bounded(self.client.list_tags(&image, &self.auth, Some(1), None))
            .await
        {
            Ok(_) | Err(UpstreamError::NotFound) => {}
            Err(e) => return Err(e),
        }
        Ok(match self.auth {
            RegistryAuth::Anonymous => Login::Anonymous,
            _ => Login::Authenticated,
        })
    }

    /// The upstream repository's tags, at most [`MAX_TAGS`].
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, UpstreamError> {
        let image = self.reference(repository, "latest");
        let mut tags: Vec<String> = Vec::new();
        loop {
            let page = self
                .bounded(self.client.list_tags(
                    &image,
                    &self.auth,
                    Some(TAG_PAGE),
                    tags.last().map(String::as_str),
                ))
                .await?;
            let more = page.tags.len() >= TAG_PAGE;
            let before = tags.len();
            tags.extend(page.tags);
            if !more || tags.len() == before || tags.len() >= MAX_TAGS {
                tags.truncate(MAX_TAGS);
                return Ok(tags);
            }
        }
    }

    /// The digest `reference` (a tag or digest) names upstream now.
    pub async fn digest(&self, repository: &str, reference: &str) -> Result<Digest, UpstreamError> {
        let image = self.reference(repository, reference);
        let digest = self
            .bounded(self.client.fetch_manifest_digest(&image, &self.auth))
            .await?;
        Digest::parse(&digest)
            .map_err(|_| UpstreamError::Invalid(format!("manifest digest {digest:.80}")))
    }
}

/// The host and port of `host[:port]` (an IPv6 address in brackets loses them).
fn host_of(registry: &str) -> Result<(String, Option<u16>), UpstreamError> {
    let bad = || UpstreamError::Invalid(format!("registry {registry:.80}"));
    let (host, port) = match registry.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        }
        None => match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        },
    };
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| bad()))
        .transpose()?;
    if host.is_empty() || registry.contains('/') {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// Refuses a blocked name, or a name that resolves to a blocked address.
async fn check_host(
    host: &str,
    port: Option<u16>,
    blocked: &[String],
    timeout: Duration,
) -> Result<(), UpstreamError> {
    let is_blocked = |candidate: &str| {
        blocked.iter().any(|b| {
            let b = b.trim().trim_start_matches('[').trim_end_matches(']');
            !b.is_empty()
                && (b.eq_ignore_ascii_case(candidate)
                    || matches!((b.parse::<IpAddr>(), candidate.parse::<IpAddr>()), (Ok(x), Ok(y)) if x == y))
        })
    };
    if is_blocked(host) {
        return Err(UpstreamError::Blocked(host.to_owned()));
    }
    if blocked.iter().all(|b| b.trim().is_empty()) {
        return Ok(());
    }
    let addresses = tokio::time::timeout(
        timeout,
        tokio::net::lookup_host((host, port.unwrap_or(443))),
    )
    .await
    .map_err(|_| UpstreamError::Unreachable(format!("resolving {host} timed out")))?
    .map_err(|e| UpstreamError::Unreachable(format!("resolving {host}: {e}")))?;
    for address in addresses {
        if is_blocked(&address.ip().to_string()) {
            return Err(UpstreamError::Blocked(host.to_owned()));
        }
    }
    Ok(())
}

/// Sorts an `oci-client` error into what callers act on.
fn classify(e: OciDistributionError) -> UpstreamError {
    use OciDistributionError as E;
    match e {
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => UpstreamError::Unauthorized,
        E::ImageManifestNotFoundError(_) => UpstreamError::NotFound,
        E::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                )
            }) {
                UpstreamError::NotFound
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                UpstreamError::Unauthorized
            } else {
                UpstreamError::Invalid(envelope.to_string())
            }
        }
        E::ServerError { code: 404, .. } => UpstreamError::NotFound,
        E::ServerError {
            code: 401 | 403, ..
        } => UpstreamError::Unauthorized,
        E::ServerError { code, message, .. } => {
            UpstreamError::Unreachable(format!("HTTP {code}: {message:.200}"))
        }
        E::RequestError(e) => UpstreamError::Unreachable(e.to_string()),
        E::IoError(e) => UpstreamError::Unreachable(e.to_string()),
        other => UpstreamError::Invalid(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_registries() {
        let parsed = |r: &str| host_of(r).ok();
        assert_eq!(
            parsed("Registry.Example:5000"),
            Some(("registry.example".to_owned(), Some(5000)))
        );
        assert_eq!(parsed("[::1]:5000"), Some(("::1".to_owned(), Some(5000))));
        assert_eq!(parsed("quay.io"), Some(("quay.io".to_owned(), None)));
        assert_eq!(parsed("a/b"), None);
        assert_eq!(parsed(":5000"), None);
        assert_eq!(parsed("host:99999"), None);
    }

    #[tokio::test]
    async fn blocked_names_and_addresses_are_refused() {
        let blocked = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let t = Duration::from_secs(5);
        assert!(matches!(
            check_host("localhost", Some(5000), &blocked, t).await,
            Err(UpstreamError::Blocked(_))
        ));
        assert!(matches!(
            check_host("127.0.0.1", None, &blocked, t).await,
            Err(UpstreamError::Blocked(_))
        ));
        // A name that is not listed but resolves to a listed address.
        let only_address = vec!["127.0.0.1".to_owned()];
        assert!(matches!(
            check_host("localhost", Some(5000), &only_address, t).await,
            Err(UpstreamError::Blocked(_))
        ));
        assert!(check_host("localhost", Some(5000), &[], t).await.is_ok());
    }
}
