//! The read functions the API calls. Each takes the read-model database and answers plain
//! structs; none of them writes.

pub mod content;
pub mod docr;
pub mod logs;
pub mod namespaces;
pub mod registries;
pub mod repositories;
pub mod tags;
pub mod tokens;
