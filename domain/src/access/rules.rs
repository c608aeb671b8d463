//! Who may do what. Every route of every family gathers the caller's [`Subject`] and its
//! standing on the target (from the read models), then asks [`authorize`] before it issues a
//! command or runs a query. These functions are the whole permission model; nothing else
//! decides access.
//!
//! Quay's semantics: a superuser (with `super:user`) may do everything; a token may do only
//! what its scopes allow, whatever its holder's roles; organization admins (the `admin` teams,
//! and a user in its own namespace) administer everything in the namespace; `creator` teams may
//! create repositories; repository roles are `read < write < admin`, granted to users, robots
//! and teams; public repositories are readable by anyone, anonymous included; a robot holds
//! exactly what was granted to it (directly or through its teams).

use uuid::Uuid;

use super::role::{RepoRole, TeamRole};
use super::scope::{Scope, Scopes};

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User { id: Uuid },
    Robot { id: Uuid, namespace_id: Uuid },
}

/// The caller as the rules see it: who, what its credential's scopes allow, and whether it is
/// a superuser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub principal: Principal,
    pub scopes: Scopes,
    pub super_user: bool,
}

impl Subject {
    pub fn anonymous() -> Self {
        Subject {
            principal: Principal::Anonymous,
            scopes: Scopes::NONE,
            super_user: false,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.principal == Principal::Anonymous
    }

    /// The user or robot id, if any.
    pub fn id(&self) -> Option<Uuid> {
        match self.principal {
            Principal::Anonymous => None,
            Principal::User { id } | Principal::Robot { id, .. } => Some(id),
        }
    }

    /// A superuser acting with a credential that carries `super:user`.
    pub fn acts_as_super_user(&self) -> bool {
        self.super_user && self.scopes.contains(Scope::SuperUser)
    }
}

/// What the caller holds in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NamespaceStanding {
    /// The namespace is the calling user's own.
    pub owns: bool,
    /// The strongest role of the organization's teams the caller belongs to.
    pub team_role: Option<TeamRole>,
}

impl NamespaceStanding {
    pub fn is_admin(&self) -> bool {
        self.owns || self.team_role == Some(TeamRole::Admin)
    }

    pub fn can_create(&self) -> bool {
        self.owns || self.team_role >= Some(TeamRole::Creator)
    }

    pub fn is_member(&self) -> bool {
        self.owns || self.team_role.is_some()
    }
}

/// What the caller holds on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepositoryStanding {
    pub public: bool,
    /// The strongest role granted to the caller, directly or through its teams.
    pub role: Option<RepoRole>,
    pub namespace: NamespaceStanding,
    /// The namespace is a proxy cache, which its members may pull from whole (Quay's
    /// `can_pullthru`): what is in it is the upstream's.
    pub pull_through: bool,
}

impl RepositoryStanding {
    /// The role the caller effectively holds: its grants, or admin as a namespace admin.
    pub fn effective_role(&self) -> Option<RepoRole> {
        if self.namespace.is_admin() {
            Some(RepoRole::Admin)
        } else {
            self.role
        }
    }
}

/// What a route asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read a repository, its tags, manifests and logs; pull it.
    ReadRepository(RepositoryStanding),
    /// Push, tag, label, delete content.
    WriteRepository(RepositoryStanding),
    /// Change settings and permissions; delete the repository.
    AdminRepository(RepositoryStanding),
    /// Create a repository in a namespace.
    CreateRepository(NamespaceStanding),
    /// See a namespace's details, teams and members.
    ViewNamespace(NamespaceStanding),
    /// Administer a namespace: its settings, teams, robots, applications, prototypes, logs.
    AdminNamespace(NamespaceStanding),
    /// Create an organization (users only).
    CreateOrganization,
    /// Read one's own account (`GET /user/`, starred, tokens).
    ReadSelf,
    /// Change one's own account (stars, app tokens).
    AdminSelf,
    /// Act on a DigitalOcean registry; `owns` when the caller is its owner; `write` for
    /// changes.
    Registry { owns: bool, write: bool },
    /// Superuser routes; also Gerrit's 'Administrate Server' capability (install, enable,
    /// disable, reload plugins).
    SuperUser,
    /// Gerrit's 'View Plugins' capability (list plugins, read a plugin's status): any
    /// authenticated user whose credential may read user information. Robots hold only their
    /// repository grants, so they may not.
    ViewPlugins,
    /// Open the event stream or list event subscriptions: any user whose credential may read
    /// user information. What it then sees is decided per namespace by [`Need::ReadEvents`].
    FollowEvents,
    /// See a namespace's events in the event stream, or subscribe a webhook to them: what
    /// reading its usage logs takes (its administrators). Events of no namespace are the
    /// superuser's.
    ReadEvents(NamespaceStanding),
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No (valid) credentials: 401.
    Unauthenticated,
    /// The credential lacks the scope: 403 `insufficient_scope`.
    InsufficientScope(Scope),
    /// The caller lacks the role: 403.
    Forbidden,
}

impl Need {
    /// The scope a credential needs for this.
    pub fn scope(&self) -> Scope {
        match self {
            Need::ReadRepository(_) => Scope::RepoRead,
            Need::WriteRepository(_) => Scope::RepoWrite,
            Need::AdminRepository(_) => Scope::RepoAdmin,
            Need::CreateRepository(_) => Scope::RepoCreate,
            Need::ViewNamespace(_) | Need::ReadSelf | Need::ViewPlugins | Need::FollowEvents => {
                Scope::UserRead
            }
            Need::AdminNamespace(ns) | Need::ReadEvents(ns) if ns.owns => Scope::UserAdmin,
            Need::AdminNamespace(_) | Need::ReadEvents(_) => Scope::OrgAdmin,
            Need::AdminSelf | Need::CreateOrganization => Scope::UserAdmin,
            Need::Registry { write: false, .. } => Scope::RepoRead,
            Need::Registry { write: true, .. } => Scope::RepoWrite,
            Need::SuperUser => Scope::SuperUser,
        }
    }

    /// Whether the caller's roles allow this (scopes aside).
    fn held(&self, subject: &Subject) -> bool {
        let is_user = matches!(subject.principal, Principal::User { .. });
        match self {
            Need::ReadRepository(r) => {
                r.public
                    || r.effective_role().is_some()
                    || (r.pull_through && r.namespace.is_member())
            }
            Need::WriteRepository(r) => r.effective_role() >= Some(RepoRole::Write),
            Need::AdminRepository(r) => r.effective_role() == Some(RepoRole::Admin),
            Need::CreateRepository(ns) => ns.can_create(),
            Need::ViewNamespace(ns) => ns.is_member(),
            Need::AdminNamespace(ns) | Need::ReadEvents(ns) => ns.is_admin(),
            Need::ReadSelf
            | Need::AdminSelf
            | Need::CreateOrganization
            | Need::ViewPlugins
            | Need::FollowEvents => is_user,
            Need::Registry { owns, .. } => is_user && *owns,
            Need::SuperUser => false,
        }
    }
}

/// Whether `subject` may do what `need` asks.
pub fn authorize(subject: &Subject, need: &Need) -> Result<(), Denial> {
    // Public repositories are readable by anyone, whatever the credential.
    if let Need::ReadRepository(r) = need
        && r.public
    {
        return Ok(());
    }
    if subject.is_anonymous() {
        return Err(Denial::Unauthenticated);
    }
    if subject.acts_as_super_user() {
        return Ok(());
    }
    let scope = need.scope();
    if !subject.scopes.contains(scope) {
        return Err(Denial::InsufficientScope(scope));
    }
    if need.held(subject) {
        Ok(())
    } else {
        Err(Denial::Forbidden)
    }
}

/// Whether `subject` may do it, as a yes or no (for `can_write`-style flags).
pub fn allows(subject: &Subject, need: &Need) -> bool {
    authorize(subject, need).is_ok()
}

/// The scopes a credential minted by `holder` for an application may carry: those asked for,
/// which must all be scopes the holder's own credential has (and `super:user` only for a
/// superuser).
pub fn grantable_scopes(holder: &Subject, asked: Scopes) -> Result<Scopes, Denial> {
    let mut allowed = holder.scopes;
    if !holder.super_user {
        allowed = Scopes::from_iter(allowed.iter().filter(|s| *s != Scope::SuperUser));
    }
    if holder.is_anonymous() {
        return Err(Denial::Unauthenticated);
    }
    match asked.iter().find(|s| !allowed.contains(*s)) {
        Some(missing) => Err(Denial::InsufficientScope(missing)),
        None => Ok(asked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(scopes: Scopes) -> Subject {
        Subject {
            principal: Principal::User {
                id: Uuid::from_u128(1),
            },
            scopes,
            super_user: false,
        }
    }

    fn robot() -> Subject {
        Subject {
            principal: Principal::Robot {
                id: Uuid::from_u128(2),
                namespace_id: Uuid::from_u128(3),
            },
            scopes: Scopes::from_iter([Scope::RepoAdmin, Scope::RepoCreate]),
            super_user: false,
        }
    }

    fn repo(public: bool, role: Option<RepoRole>, team: Option<TeamRole>) -> RepositoryStanding {
        RepositoryStanding {
            public,
            role,
            namespace: NamespaceStanding {
                owns: false,
                team_role: team,
            },
            pull_through: false,
        }
    }

    #[test]
    fn members_pull_through_a_proxy_cache_and_no_one_else() {
        let all = user(Scopes::all());
        let member = RepositoryStanding {
            pull_through: true,
            ..repo(false, None, Some(TeamRole::Member))
        };
        assert!(allows(&all, &Need::ReadRepository(member)));
        assert!(!allows(&all, &Need::WriteRepository(member)));
        let outsider = RepositoryStanding {
            pull_through: true,
            ..repo(false, None, None)
        };
        assert!(!allows(&all, &Need::ReadRepository(outsider)));
        assert!(!allows(
            &Subject::anonymous(),
            &Need::ReadRepository(member)
        ));
    }

    #[test]
    fn a_namespace_events_are_its_administrators() {
        let member = NamespaceStanding {
            owns: false,
            team_role: Some(TeamRole::Member),
        };
        let admin = NamespaceStanding {
            owns: false,
            team_role: Some(TeamRole::Admin),
        };
        let own = NamespaceStanding {
            owns: true,
            team_role: None,
        };
        let all = user(Scopes::all());
        assert_eq!(authorize(&all, &Need::ReadEvents(admin)), Ok(()));
        assert_eq!(authorize(&all, &Need::ReadEvents(own)), Ok(()));
        assert_eq!(
            authorize(&all, &Need::ReadEvents(member)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(
                &user(Scopes::from_iter([Scope::UserRead])),
                &Need::ReadEvents(admin)
            ),
            Err(Denial::InsufficientScope(Scope::OrgAdmin))
        );
        assert_eq!(
            authorize(&robot(), &Need::FollowEvents),
            Err(Denial::InsufficientScope(Scope::UserRead))
        );
        assert_eq!(
            authorize(&Subject::anonymous(), &Need::FollowEvents),
            Err(Denial::Unauthenticated)
        );
        assert_eq!(authorize(&all, &Need::FollowEvents), Ok(()));
    }

    #[test]
    fn public_repositories_are_readable_by_anyone_and_writable_by_no_stranger() {
        let public = repo(true, None, None);
        assert_eq!(
            authorize(&Subject::anonymous(), &Need::ReadRepository(public)),
            Ok(())
        );
        assert_eq!(
            authorize(&user(Scopes::NONE), &Need::ReadRepository(public)),
            Ok(())
        );
        assert_eq!(
            authorize(&Subject::anonymous(), &Need::WriteRepository(public)),
            Err(Denial::Unauthenticated)
        );
        assert_eq!(
            authorize(&user(Scopes::all()), &Need::WriteRepository(public)),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn repository_roles_are_ordered() {
        let all = user(Scopes::all());
        let reader = repo(false, Some(RepoRole::Read), None);
        let writer = repo(false, Some(RepoRole::Write), None);
        let admin = repo(false, Some(RepoRole::Admin), None);
        assert!(allows(&all, &Need::ReadRepository(reader)));
        assert!(!allows(&all, &Need::WriteRepository(reader)));
        assert!(allows(&all, &Need::WriteRepository(writer)));
        assert!(!allows(&all, &Need::AdminRepository(writer)));
        assert!(allows(&all, &Need::AdminRepository(admin)));
        assert_eq!(
            authorize(&all, &Need::ReadRepository(repo(false, None, None))),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn scopes_bound_what_roles_allow() {
        let admin = repo(false, Some(RepoRole::Admin), None);
        let read_only = user(Scopes::from_iter([Scope::RepoRead]));
        assert!(allows(&read_only, &Need::ReadRepository(admin)));
        assert_eq!(
            authorize(&read_only, &Need::WriteRepository(admin)),
            Err(Denial::InsufficientScope(Scope::RepoWrite))
        );
        assert_eq!(
            authorize(&read_only, &Need::ReadSelf),
            Err(Denial::InsufficientScope(Scope::UserRead))
        );
    }

    #[test]
    fn team_roles_give_namespace_powers() {
        let all = user(Scopes::all());
        let ns = |team_role| NamespaceStanding {
            owns: false,
            team_role,
        };
        assert!(!allows(
            &all,
            &Need::CreateRepository(ns(Some(TeamRole::Member)))
        ));
        assert!(allows(
            &all,
            &Need::CreateRepository(ns(Some(TeamRole::Creator)))
        ));
        assert!(!allows(
            &all,
            &Need::AdminNamespace(ns(Some(TeamRole::Creator)))
        ));
        assert!(allows(
            &all,
            &Need::AdminNamespace(ns(Some(TeamRole::Admin)))
        ));
        assert!(allows(
            &all,
            &Need::ViewNamespace(ns(Some(TeamRole::Member)))
        ));
        assert!(!allows(&all, &Need::ViewNamespace(ns(None))));
        // Org admins administer every repository of the organization.
        assert!(allows(
            &all,
            &Need::AdminRepository(repo(false, None, Some(TeamRole::Admin)))
        ));
        // A user's own namespace is its to administer, under user:admin.
        let own = NamespaceStanding {
            owns: true,
            team_role: None,
        };
        assert!(allows(&all, &Need::AdminNamespace(own)));
        assert_eq!(Need::AdminNamespace(own).scope(), Scope::UserAdmin);
        assert_eq!(Need::AdminNamespace(ns(None)).scope(), Scope::OrgAdmin);
    }

    #[test]
    fn robots_hold_exactly_their_grants() {
        let r = robot();
        assert!(allows(
            &r,
            &Need::WriteRepository(repo(false, Some(RepoRole::Write), None))
        ));
        assert!(!allows(&r, &Need::ReadRepository(repo(false, None, None))));
        assert!(!allows(&r, &Need::ReadSelf));
        assert!(!allows(
            &r,
            &Need::Registry {
                owns: true,
                write: false
            }
        ));
        assert!(allows(
            &r,
            &Need::CreateRepository(NamespaceStanding {
                owns: false,
                team_role: Some(TeamRole::Creator),
            })
        ));
    }

    #[test]
    fn superusers_need_the_super_user_scope() {
        let mut su = user(Scopes::all());
        su.super_user = true;
        assert!(allows(&su, &Need::SuperUser));
        assert!(allows(&su, &Need::AdminRepository(repo(false, None, None))));
        su.scopes = Scopes::from_iter([Scope::RepoRead]);
        assert_eq!(
            authorize(&su, &Need::SuperUser),
            Err(Denial::InsufficientScope(Scope::SuperUser))
        );
        assert!(!allows(&user(Scopes::all()), &Need::SuperUser));
    }

    #[test]
    fn registries_are_their_owners() {
        let all = user(Scopes::all());
        assert!(allows(
            &all,
            &Need::Registry {
                owns: true,
                write: true
            }
        ));
        assert_eq!(
            authorize(
                &all,
                &Need::Registry {
                    owns: false,
                    write: false
                }
            ),
            Err(Denial::Forbidden)
        );
        let reader = user(Scopes::from_iter([Scope::RepoRead]));
        assert_eq!(
            authorize(
                &reader,
                &Need::Registry {
                    owns: true,
                    write: true
                }
            ),
            Err(Denial::InsufficientScope(Scope::RepoWrite))
        );
    }

    #[test]
    fn gerrit_capabilities_map_onto_roles_and_scopes() {
        // 'View Plugins': any user whose credential reads user information.
        let reader = user(Scopes::from_iter([Scope::UserRead]));
        assert_eq!(authorize(&reader, &Need::ViewPlugins), Ok(()));
        assert_eq!(
            authorize(
                &user(Scopes::from_iter([Scope::RepoRead])),
                &Need::ViewPlugins
            ),
            Err(Denial::InsufficientScope(Scope::UserRead))
        );
        assert_eq!(
            authorize(&Subject::anonymous(), &Need::ViewPlugins),
            Err(Denial::Unauthenticated)
        );
        let mut bot = robot();
        bot.scopes = Scopes::all();
        assert_eq!(authorize(&bot, &Need::ViewPlugins), Err(Denial::Forbidden));
        // 'Administrate Server': a superuser acting with super:user, which also grants viewing.
        assert_eq!(
            authorize(&reader, &Need::SuperUser),
            Err(Denial::InsufficientScope(Scope::SuperUser))
        );
        assert_eq!(
            authorize(&user(Scopes::all()), &Need::SuperUser),
            Err(Denial::Forbidden)
        );
        let mut su = user(Scopes::from_iter([Scope::SuperUser]));
        su.super_user = true;
        assert_eq!(authorize(&su, &Need::SuperUser), Ok(()));
        assert_eq!(authorize(&su, &Need::ViewPlugins), Ok(()));
    }

    #[test]
    fn minted_tokens_carry_at_most_their_holders_scopes() {
        let holder = user(Scopes::from_iter([Scope::RepoWrite, Scope::UserRead]));
        let asked = Scopes::from_iter([Scope::RepoRead]);
        assert_eq!(grantable_scopes(&holder, asked), Ok(asked));
        assert_eq!(
            grantable_scopes(&holder, Scopes::from_iter([Scope::OrgAdmin])),
            Err(Denial::InsufficientScope(Scope::OrgAdmin))
        );
        let all = user(Scopes::all());
        assert_eq!(
            grantable_scopes(&all, Scopes::from_iter([Scope::SuperUser])),
            Err(Denial::InsufficientScope(Scope::SuperUser))
        );
    }
}
