//! Tag names: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`, the OCI distribution grammar.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The longest tag name the spec allows.
pub const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TagName(String);

impl TagName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let mut bytes = s.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !first_ok || !rest_ok || s.len() > MAX_TAG_LEN {
            return Err(DomainError::InvalidName(format!(
                "Invalid tag name {s:?}: use up to {MAX_TAG_LEN} letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            )));
        }
        Ok(TagName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for TagName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TagName::parse(&s)
    }
}

impl From<TagName> for String {
    fn from(t: TagName) -> String {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_follow_the_oci_grammar() {
        for ok in ["latest", "v1.2.3", "_private", "A-b_c.d", &"x".repeat(128)] {
            assert!(TagName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "-dash",
            "has space",
            "a/b",
            "a:b",
            &"x".repeat(129),
            "ünï",
        ] {
            assert!(TagName::parse(bad).is_err(), "{bad}");
        }
    }
}
