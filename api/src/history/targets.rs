//! Which routes answer `as_of`, and what each one reads: the resource its path names. A route
//! not listed here refuses `as_of` rather than answer the present under a past header.

use crate::quay::repositories::percent_decode;

/// The resource a time-travel read is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/api/v1/repository/{namespace}/{name}[/...]`: the repository, its tags, manifests,
    /// labels and permissions.
    Repository { namespace: String, name: String },
    /// `/api/v1/organization/{name}[/...]`: the organization, its members, robots, teams,
    /// prototypes and applications.
    Organization { name: String },
    /// `/api/v1/users/{name}`.
    User { name: String },
    /// `/api/v1/user/robots[/...]`: the caller's own account.
    OwnAccount,
    /// `/v2/registry`, `/v2/registry/subscription`: the caller's DigitalOcean registry.
    OwnRegistry,
    /// `/v2/registry/{name}/...`: a DigitalOcean registry's repositories, tags, digests and
    /// collections.
    Registry { name: String },
    /// `/repository/v1/plugins/{plugin_id}[/versions]`: the plugin, and its versions (its
    /// image's tags) as they stood.
    SpacePlugin { id: String },
    /// `/plugins/{id}/gerrit~status` (and under `/a/`).
    GerritPlugin { id: String },
    /// `/plugins/` (and `/a/plugins/`): every Gerrit plugin.
    GerritPlugins,
    /// `/events/v1/subscriptions/{id}`: a webhook subscription.
    Subscription { id: String },
}

/// The API family a path belongs to, which shapes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Quay,
    DigitalOcean,
    SpaceOne,
    Gerrit,
    /// The OCI distribution API, on the registry listener.
    Oci,
    Other,
}

impl Family {
    pub fn of(path: &str) -> Family {
        // The event stream's routes answer in Quay's error shape.
        if path.starts_with("/api/v1/") || path.starts_with("/events/v1/") {
            Family::Quay
        } else if path.starts_with("/v2/registry") {
            Family::DigitalOcean
        } else if path.starts_with("/repository/v1/") {
            Family::SpaceOne
        } else if path.starts_with("/plugins/") || path.starts_with("/a/plugins/") {
            Family::Gerrit
        } else {
            Family::Other
        }
    }
}

/// The resource a GET of the registry listener's `path` reads, when it answers `as_of`: a
/// repository's tag list and its manifests by tag or digest.
pub fn oci_target(path: &str) -> Option<Target> {
    let rest = path.strip_prefix("/v2/")?;
    let name = match crate::oci::Route::parse(rest)? {
        crate::oci::Route::Tags(name) | crate::oci::Route::Manifest(name, _) => name,
        _ => return None,
    };
    let (namespace, name) = name.split_once('/')?;
    Some(Target::Repository {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })
}

/// The resource a GET of `path` reads, when the route answers `as_of`.
pub fn target(path: &str) -> Option<Target> {
    let decoded = percent_decode(path)?;
    let segments: Vec<&str> = decoded
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let owned = |s: &str| s.to_owned();
    match segments.as_slice() {
        ["api", "v1", "repository", namespace, name, rest @ ..] => {
            let served = match rest.first() {
                None => true,
                // Logs are already history; tokens are retired.
                Some(&"logs" | &"aggregatelogs" | &"tokens" | &"exportlogs") => false,
                Some(&"tag" | &"manifest" | &"permissions" | &"image") => true,
                Some(_) => false,
            };
            served.then(|| Target::Repository {
                namespace: owned(namespace),
                name: owned(name),
            })
        }
        ["api", "v1", "organization", name, rest @ ..] => {
            let served = matches!(
                rest,
                [] | ["members"]
                    | ["members", _]
                    | ["robots"]
                    | ["robots", _]
                    | ["team", _, "members"]
                    | ["prototypes"]
                    | ["applications"]
                    | ["applications", _]
            );
            served.then(|| Target::Organization { name: owned(name) })
        }
        ["api", "v1", "users", name] => Some(Target::User { name: owned(name) }),
        ["api", "v1", "user", "robots"] | ["api", "v1", "user", "robots", _] => {
            Some(Target::OwnAccount)
        }
        ["v2", "registry"] | ["v2", "registry", "subscription"] => Some(Target::OwnRegistry),
        ["v2", "registry", name, rest @ ..] => {
            let served = matches!(
                rest,
                ["repositories"]
                    | ["repositoriesV2"]
                    | ["repositories", _, "tags"]
                    | ["repositories", _, "digests"]
                    | ["garbage-collection"]
                    | ["garbage-collections"]
            );
            (served && !matches!(*name, "options" | "validate-name" | "docker-credentials"))
                .then(|| Target::Registry { name: owned(name) })
        }
        ["repository", "v1", "plugins", id] | ["repository", "v1", "plugins", id, "versions"]
            if !matches!(*id, "search" | "stat") =>
        {
            Some(Target::SpacePlugin { id: owned(id) })
        }
        ["plugins", id, "gerrit~status"] | ["a", "plugins", id, "gerrit~status"] => {
            Some(Target::GerritPlugin { id: owned(id) })
        }
        ["plugins"] | ["a", "plugins"] => Some(Target::GerritPlugins),
        ["events", "v1", "subscriptions", id] => Some(Target::Subscription { id: owned(id) }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_resource_of_each_served_route() {
        let repo = Some(Target::Repository {
            namespace: "acme".into(),
            name: "web".into(),
        });
        assert_eq!(target("/api/v1/repository/acme/web"), repo);
        assert_eq!(target("/api/v1/repository/acme%2Fweb"), repo);
        assert_eq!(target("/api/v1/repository/acme/web/tag/"), repo);
        assert_eq!(
            target("/api/v1/repository/acme/web/manifest/sha256:ab/labels"),
            repo
        );
        assert_eq!(target("/api/v1/repository/acme/web/logs"), None);
        assert_eq!(
            target("/api/v1/organization/acme/robots/bot"),
            Some(Target::Organization {
                name: "acme".into()
            })
        );
        assert_eq!(target("/api/v1/organization/acme/logs"), None);
        assert_eq!(target("/v2/registry"), Some(Target::OwnRegistry));
        assert_eq!(
            target("/v2/registry/acme/repositories/web/tags"),
            Some(Target::Registry {
                name: "acme".into()
            })
        );
        assert_eq!(target("/v2/registry/options"), None);
        assert_eq!(
            target("/a/plugins/hello/gerrit~status"),
            Some(Target::GerritPlugin { id: "hello".into() })
        );
        assert_eq!(target("/plugins/"), Some(Target::GerritPlugins));
        assert_eq!(target("/ledger/checkpoint"), None);
        assert_eq!(oci_target("/v2/acme/web/tags/list"), repo);
        assert_eq!(oci_target("/v2/acme/web/manifests/latest"), repo);
        assert_eq!(oci_target("/v2/acme/web/blobs/sha256:ab"), None);
        assert_eq!(oci_target("/v2/_catalog"), None);
    }
}
