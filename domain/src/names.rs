//! Validated names. A value of these types is always valid, so code past the API boundary never
//! re-checks a name.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// A user or organization name: 2 to 255 characters, lowercase letters and digits in runs
/// separated by single `.`, `_` or `-` (the rule Quay applies to namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NamespaceName(String);

/// A repository name inside a namespace: one or more `/`-separated path components, each
/// lowercase letters and digits joined by `.`, `_`, `__` or runs of `-` (the OCI distribution
/// name grammar), 255 characters at most.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepositoryName(String);

/// An e-mail address, checked only for the shape `local@domain.tld`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

fn is_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

impl NamespaceName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let invalid = || {
            DomainError::InvalidName(format!(
                "Invalid namespace name '{s}': use 2 to 255 lowercase letters, digits and single '.', '_' or '-' between them"
            ))
        };
        if s.len() < 2 || s.len() > 255 {
            return Err(invalid());
        }
        let mut prev_sep = true;
        for c in s.chars() {
            if is_alnum(c) {
                prev_sep = false;
            } else if matches!(c, '.' | '_' | '-') && !prev_sep {
                prev_sep = true;
            } else {
                return Err(invalid());
            }
        }
        if prev_sep {
            return Err(invalid());
        }
        Ok(NamespaceName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One path component of a repository name.
fn valid_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    if bytes.is_empty() || !is_alnum(bytes[0] as char) || !is_alnum(bytes[bytes.len() - 1] as char)
    {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let ch = bytes[i] as char;
        if is_alnum(ch) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__", or one or more "-"; always followed by alnum.
        let start = i;
        match ch {
            '.' => i += 1,
            '_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            '-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= bytes.len() || !is_alnum(bytes[i] as char) {
            return false;
        }
    }
    true
}

impl RepositoryName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() || s.len() > 255 || !s.split('/').all(valid_component) {
            return Err(DomainError::InvalidName(format!(
                "Invalid repository name '{s}': use lowercase letters and digits separated by '.', '_', '__' or '-', with '/' between path components, at most 255 characters"
            )));
        }
        Ok(RepositoryName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Email {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok = s.len() <= 254
            && !s.chars().any(char::is_whitespace)
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if ok {
            Ok(Email(s.to_owned()))
        } else {
            Err(DomainError::InvalidArgument(format!(
                "Invalid email address '{s}'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype {
    ($t:ident) => {
        impl TryFrom<String> for $t {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $t::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_newtype!(NamespaceName);
string_newtype!(RepositoryName);
string_newtype!(Email);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names() {
        for ok in ["ab", "my-org", "a.b_c-d", "org123"] {
            assert!(NamespaceName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "",
            "-ab",
            "ab-",
            "a--b",
            "Ab",
            "a b",
            "a/b",
            &"x".repeat(256),
        ] {
            assert!(NamespaceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repository_names() {
        for ok in ["r", "my-repo", "a/b/c", "a__b", "a---b", "a.b"] {
            assert!(RepositoryName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "A",
            "a___b",
            "a_",
            "a..b",
            "a b",
            "-a",
            &"x".repeat(256),
        ] {
            assert!(RepositoryName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(Email::parse("a@b.io").is_ok());
        for bad in ["", "a", "a@b", "@b.io", "a @b.io", "a@.io"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
