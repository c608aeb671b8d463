//! The authenticated caller of a request.

use annals_domain::Actor;
use annals_domain::access::{Principal, Scopes, Subject};
use annals_projections::queries::access::{CredentialView, Viewer};
use uuid::Uuid;

/// What a caller authenticated with; each kind is accepted where Quay accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An API token (the bootstrap token, `annals token`): every scope.
    Api,
    /// An OAuth access token minted for an application: the scopes it was granted.
    OAuth,
    /// An app-specific token: a registry password for its user.
    App,
    /// A robot's token: a registry password for the robot.
    Robot,
    /// A DigitalOcean registry credential (`docker-credentials`): registry only.
    Registry,
    /// A user's password (basic auth): the registry, and Quay's OAuth authorization.
    Password,
}

impl CredentialKind {
    pub fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "api" => CredentialKind::Api,
            "oauth" => CredentialKind::OAuth,
            "app" => CredentialKind::App,
            "robot" => CredentialKind::Robot,
            _ => return None,
        })
    }

    /// Whether the management APIs (Quay, DigitalOcean) take it as a bearer token. App and
    /// robot tokens are registry passwords, as in Quay.
    pub fn is_api_bearer(self) -> bool {
        matches!(self, CredentialKind::Api | CredentialKind::OAuth)
    }
}

/// An authenticated user or robot.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// Who, with what scopes, and whether a superuser: what the rules see.
    pub subject: Subject,
    /// The user's id, or the robot's.
    pub user_id: Uuid,
    /// The user's name, or the robot's full name `namespace+shortname`.
    pub username: String,
    /// The user; a robot's namespace.
    pub owner_id: Uuid,
    pub kind: CredentialKind,
    /// The credential's id (a robot's id for a robot token).
    pub token_id: Uuid,
    /// When the credential expires, seconds since the epoch.
    pub expires_at: Option<i64>,
}

impl Caller {
    /// The caller a live credential stands for, unless it has expired.
    pub fn from_credential(view: CredentialView, now_micros: i64) -> Option<Self> {
        if view.expires_at.is_some_and(|e| e <= now_micros) {
            return None;
        }
        let kind = CredentialKind::parse(&view.kind)?;
        let principal = if view.is_robot() {
            Principal::Robot {
                id: view.principal_id,
                namespace_id: view.owner_id,
            }
        } else {
            Principal::User {
                id: view.principal_id,
            }
        };
        // An app token is its user's registry password: it may do in the registry what the
        // user may, but no account administration.
        let scopes = match kind {
            CredentialKind::App => Scopes::from_names(&["repo:admin", "repo:create"]),
            _ => view.scopes,
        };
        Some(Caller {
            subject: Subject {
                principal,
                scopes,
                super_user: view.super_user,
            },
            user_id: view.principal_id,
            username: view.principal_name,
            owner_id: view.owner_id,
            kind,
            token_id: view.token_id,
            expires_at: view.expires_at.map(|e| e.div_euclid(1_000_000)),
        })
    }

    pub fn is_robot(&self) -> bool {
        matches!(self.subject.principal, Principal::Robot { .. })
    }

    /// A superuser acting with a credential that carries `super:user`.
    pub fn acts_as_super_user(&self) -> bool {
        self.subject.acts_as_super_user()
    }

    /// The actor its commands are recorded under.
    pub fn actor(&self) -> Actor {
        if self.is_robot() {
            Actor::robot(self.user_id, self.username.clone())
        } else {
            Actor::user(self.user_id, self.username.clone())
        }
    }

    /// Who is looking, for the lists that answer only what the caller may read.
    pub fn viewer(&self) -> Viewer {
        if self.acts_as_super_user() {
            Viewer::SuperUser
        } else {
            Viewer::Principal(self.user_id)
        }
    }
}
