//! Quay's OAuth scopes: what a bearer token may be used for, whatever its holder's roles.
//! A token holds a set of them; a stronger scope implies the weaker ones of its kind, as in
//! Quay (`repo:admin` ⊃ `repo:write` ⊃ `repo:read`, `user:admin` ⊃ `user:read`).

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "repo:read")]
    RepoRead,
    #[serde(rename = "repo:write")]
    RepoWrite,
    #[serde(rename = "repo:admin")]
    RepoAdmin,
    #[serde(rename = "repo:create")]
    RepoCreate,
    #[serde(rename = "user:read")]
    UserRead,
    #[serde(rename = "user:admin")]
    UserAdmin,
    #[serde(rename = "org:admin")]
    OrgAdmin,
    #[serde(rename = "super:user")]
    SuperUser,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::RepoRead,
        Scope::RepoWrite,
        Scope::RepoAdmin,
        Scope::RepoCreate,
        Scope::UserRead,
        Scope::UserAdmin,
        Scope::OrgAdmin,
        Scope::SuperUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::RepoRead => "repo:read",
            Scope::RepoWrite => "repo:write",
            Scope::RepoAdmin => "repo:admin",
            Scope::RepoCreate => "repo:create",
            Scope::UserRead => "user:read",
            Scope::UserAdmin => "user:admin",
            Scope::OrgAdmin => "org:admin",
            Scope::SuperUser => "super:user",
        }
    }

    pub fn parse(s: &str) -> Result<Scope, DomainError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| DomainError::InvalidArgument(format!("Unknown scope '{s}'")))
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The scopes this one grants, itself included.
    fn implied(self) -> Scopes {
        let of = |list: &[Scope]| Scopes(list.iter().fold(0, |bits, s| bits | s.bit()));
        match self {
            Scope::RepoAdmin => of(&[Scope::RepoAdmin, Scope::RepoWrite, Scope::RepoRead]),
            Scope::RepoWrite => of(&[Scope::RepoWrite, Scope::RepoRead]),
            Scope::UserAdmin => of(&[Scope::UserAdmin, Scope::UserRead]),
            other => of(&[other]),
        }
    }
}

/// A set of scopes, closed under implication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Scopes(u8);

impl Scopes {
    pub const NONE: Scopes = Scopes(0);

    pub fn all() -> Scopes {
        Scopes::from_iter(Scope::ALL)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every scope of `other` is in this set.
    pub fn covers(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Parses Quay's space- (or comma-) separated scope list; an unknown scope is refused.
    pub fn parse_list(list: &str) -> Result<Scopes, DomainError> {
        list.split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Scopes::from_iter)
    }

    /// The names, as stored in events and shown to clients.
    pub fn names(self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_owned()).collect()
    }

    /// The set named by stored names; unknown names are left out (a token never gains a
    /// scope by a name it does not know).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Scopes {
        Scopes::from_iter(names.iter().filter_map(|n| Scope::parse(n.as_ref()).ok()))
    }

    pub fn to_list(self) -> String {
        self.names().join(" ")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, s| bits | s.implied().0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_scopes_imply_weaker_ones() {
        let s = Scopes::from_iter([Scope::RepoAdmin]);
        assert!(s.contains(Scope::RepoRead) && s.contains(Scope::RepoWrite));
        assert!(!s.contains(Scope::RepoCreate));
        let u = Scopes::from_iter([Scope::UserAdmin]);
        assert!(u.contains(Scope::UserRead) && !u.contains(Scope::OrgAdmin));
        assert!(!Scopes::from_iter([Scope::RepoRead]).contains(Scope::RepoWrite));
    }

    #[test]
    fn lists_parse_and_refuse_unknown_scopes() {
        let s = Scopes::parse_list("repo:read user:read").unwrap();
        assert!(s.contains(Scope::UserRead) && s.contains(Scope::RepoRead));
        assert!(Scopes::parse_list("repo:read,repo:destroy").is_err());
        assert_eq!(Scopes::parse_list("").unwrap(), Scopes::NONE);
        assert!(Scopes::all().covers(s));
        assert!(!s.covers(Scopes::all()));
        assert_eq!(Scopes::from_names(&s.names()), s);
    }
}
