//! The permission model: scopes, roles and the pure rules that decide every request.

pub mod role;
pub mod rules;
pub mod scope;

pub use role::{RepoRole, TeamRole};
pub use rules::{
    Denial, NamespaceStanding, Need, Principal, RepositoryStanding, Subject, allows, authorize,
    grantable_scopes,
};
pub use scope::{Scope, Scopes};
