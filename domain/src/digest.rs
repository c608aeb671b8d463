//! Content digests, as the OCI image and distribution specs define them: `algorithm:encoded`.
//! Registries must support `sha256` (64 lowercase hex digits) and may support `sha512` (128);
//! Annals supports both, and refuses other algorithms as unsupported rather than invalid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex encoding.
    pub fn hex_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha512 => 128,
        }
    }
}

/// A validated digest such as `sha256:e3b0c442...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

/// Why a digest string was refused; the OCI API answers `DIGEST_INVALID` for `Invalid` and
/// `UNSUPPORTED` for an algorithm it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    Invalid(String),
    Unsupported(String),
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Invalid(m) | DigestError::Unsupported(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DigestError {}

impl From<DigestError> for DomainError {
    fn from(e: DigestError) -> Self {
        match e {
            DigestError::Invalid(m) | DigestError::Unsupported(m) => {
                DomainError::InvalidArgument(m)
            }
        }
    }
}

/// The spec's grammar for an algorithm: `[a-z0-9]+([+._-][a-z0-9]+)*`.
fn valid_algorithm(s: &str) -> bool {
    !s.is_empty()
        && s.split(['+', '.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl Digest {
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let invalid =
            || DigestError::Invalid(format!("invalid digest {s:?}: expected algorithm:hex"));
        let (algorithm, encoded) = s.split_once(':').ok_or_else(invalid)?;
        if !valid_algorithm(algorithm)
            || encoded.is_empty()
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
        {
            return Err(invalid());
        }
        let algorithm = match algorithm {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            other => {
                return Err(DigestError::Unsupported(format!(
                    "unsupported digest algorithm {other:?}"
                )));
            }
        };
        if encoded.len() != algorithm.hex_len()
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::Invalid(format!(
                "invalid digest {s:?}: {} needs {} lowercase hex digits",
                algorithm.as_str(),
                algorithm.hex_len()
            )));
        }
        Ok(Digest {
            algorithm,
            hex: encoded.to_owned(),
        })
    }

    /// A digest from an algorithm and the raw hash bytes (as a hasher returns them).
    pub fn from_hash(algorithm: DigestAlgorithm, hash: &[u8]) -> Result<Self, DigestError> {
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::Invalid(format!(
                "a {} hash has {} bytes",
                algorithm.as_str(),
                algorithm.hex_len() / 2
            )));
        }
        Ok(Digest { algorithm, hex })
    }

    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s).map_err(|e| match e {
            DigestError::Invalid(m) | DigestError::Unsupported(m) => m,
        })
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn sha256_and_sha512_digests_parse_and_print_back() {
        let d = Digest::parse(EMPTY_SHA256).unwrap();
        assert_eq!(d.algorithm(), DigestAlgorithm::Sha256);
        assert_eq!(d.to_string(), EMPTY_SHA256);
        let long = format!("sha512:{}", "ab".repeat(64));
        assert_eq!(
            Digest::parse(&long).unwrap().algorithm(),
            DigestAlgorithm::Sha512
        );
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
    }

    #[test]
    fn malformed_digests_are_invalid_and_unknown_algorithms_unsupported() {
        for bad in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            "sha256:xyz",
            &EMPTY_SHA256.to_uppercase(),
            &EMPTY_SHA256[..EMPTY_SHA256.len() - 1],
            "sha256:e3b0 c442",
            "SHA256:abc",
        ] {
            assert!(
                matches!(Digest::parse(bad), Err(DigestError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e"),
            Err(DigestError::Unsupported(_))
        ));
        assert!(matches!(
            Digest::parse("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"),
            Err(DigestError::Unsupported(_))
        ));
        assert!(serde_json::from_str::<Digest>("\"sha256:nothex\"").is_err());
    }

    #[test]
    fn from_hash_checks_the_length() {
        assert_eq!(
            Digest::from_hash(DigestAlgorithm::Sha256, &[0xab; 32])
                .unwrap()
                .hex(),
            "ab".repeat(32)
        );
        assert!(Digest::from_hash(DigestAlgorithm::Sha512, &[0; 32]).is_err());
    }
}
