//! Garbage collection of a registry's blob store: its kinds and the statuses it moves through,
//! named as DigitalOcean's API names them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// What a collection removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GcType {
    #[serde(rename = "untagged manifests only")]
    UntaggedManifestsOnly,
    #[serde(rename = "unreferenced blobs only")]
    UnreferencedBlobsOnly,
    #[serde(rename = "untagged manifests and unreferenced blobs")]
    UntaggedManifestsAndUnreferencedBlobs,
}

impl GcType {
    pub const ALL: [GcType; 3] = [
        GcType::UntaggedManifestsOnly,
        GcType::UnreferencedBlobsOnly,
        GcType::UntaggedManifestsAndUnreferencedBlobs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GcType::UntaggedManifestsOnly => "untagged manifests only",
            GcType::UnreferencedBlobsOnly => "unreferenced blobs only",
            GcType::UntaggedManifestsAndUnreferencedBlobs => {
                "untagged manifests and unreferenced blobs"
            }
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                DomainError::InvalidArgument(format!(
                    "invalid garbage collection type {s:?}: use one of {:?}",
                    Self::ALL.map(GcType::as_str)
                ))
            })
    }

    pub fn deletes_manifests(self) -> bool {
        self != GcType::UnreferencedBlobsOnly
    }

    pub fn deletes_blobs(self) -> bool {
        self != GcType::UntaggedManifestsOnly
    }
}

/// Where a collection is. The first five are active (the registry is read-only from
/// `WaitingForWrites` until the collection ends); the last three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GcStatus {
    #[serde(rename = "requested")]
    Requested,
    #[serde(rename = "waiting for write JWTs to expire")]
    WaitingForWrites,
    #[serde(rename = "scanning manifests")]
    ScanningManifests,
    #[serde(rename = "deleting unreferenced blobs")]
    DeletingBlobs,
    #[serde(rename = "cancelling")]
    Cancelling,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "succeeded")]
    Succeeded,
    #[serde(rename = "cancelled")]
    Cancelled,
}

impl GcStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GcStatus::Requested => "requested",
            GcStatus::WaitingForWrites => "waiting for write JWTs to expire",
            GcStatus::ScanningManifests => "scanning manifests",
            GcStatus::DeletingBlobs => "deleting unreferenced blobs",
            GcStatus::Cancelling => "cancelling",
            GcStatus::Failed => "failed",
            GcStatus::Succeeded => "succeeded",
            GcStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            GcStatus::Failed | GcStatus::Succeeded | GcStatus::Cancelled
        )
    }

    /// Whether pushes are refused: from the wait for writers until the collection ends.
    pub fn blocks_writes(self) -> bool {
        !self.is_final() && self != GcStatus::Requested
    }
}

impl fmt::Display for GcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_from_their_names() {
        for t in GcType::ALL {
            assert_eq!(GcType::parse(t.as_str()).unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!(GcType::parse("everything").is_err());
    }

    #[test]
    fn statuses_serialize_as_digitalocean_names_them() {
        assert_eq!(
            serde_json::to_value(GcStatus::WaitingForWrites).unwrap(),
            "waiting for write JWTs to expire"
        );
        assert!(GcStatus::ScanningManifests.blocks_writes());
        assert!(!GcStatus::Succeeded.blocks_writes());
        assert!(!GcStatus::Requested.blocks_writes());
    }
}
