//! The code generated from `api/proto` (see `build.rs`): the SpaceONE Plugin service and its
//! messages, nested as their protobuf packages so the generated paths between them resolve.

#![allow(clippy::all, missing_docs)]

pub mod spaceone {
    pub mod api {
        pub mod core {
            pub mod v2 {
                include!(concat!(env!("OUT_DIR"), "/spaceone.api.core.v2.rs"));
            }
        }
        pub mod repository {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/spaceone.api.repository.v1.rs"));
            }
        }
    }
}

pub use spaceone::api::core::v2 as core;
pub use spaceone::api::repository::v1 as repository;

/// The encoded descriptors of every file, for gRPC server reflection.
pub const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/spaceone_descriptor.bin"));
