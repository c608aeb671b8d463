//! The transparency log over the event log, as pure functions: the canonical bytes of an event
//! (`canonical`), RFC 6962 / RFC 9162 Merkle hashing, proofs and their verification (`merkle`),
//! C2SP tlog-tiles paths (`tiles`), and C2SP signed notes and tlog-checkpoints with Ed25519
//! (`note`). The ledger worker, routes and `annals verify` call these; nothing here does IO.

pub mod canonical;
pub mod merkle;
pub mod note;
pub mod tiles;

pub use canonical::{Json, LeafEvent, canonical_json, encode_leaf, encode_leaf_into};
pub use merkle::{Hash, leaf_hash, node_hash};
