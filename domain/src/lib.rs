//! The rules of Annals, with no IO: validated names, the aggregates with their commands, events,
//! `decide` and `evolve`, the event codec and the audit vocabulary.
//!
//! Each aggregate module (`organization`, `repository`, `user`, `reservation`) holds its state,
//! its command enum, `decide(&state, &command) -> Result<Vec<DomainEvent>, DomainError>` and the
//! `Aggregate::evolve` fold. The command service in `annals-commands` loads streams, calls these
//! and appends what they decide.

pub mod access;
pub mod actor;
pub mod aggregate;
pub mod application;
pub mod as_of;
// Auto-prune policies (issue 14 part 2).
pub mod autoprune;
pub mod codec;
pub mod content;
pub mod delegate;
pub mod digest;
pub mod error;
pub mod event;
pub mod event_subscription;
pub mod gc;
pub mod gerrit_plugin;
pub mod ledger;
pub mod log_export;
pub mod log_kind;
pub mod manifest;
pub mod message;
pub mod mirror;
pub mod names;
pub mod notification;
pub mod organization;
pub mod prototype;
pub mod proxy_cache;
pub mod quota;
pub mod registry;
pub mod repository;
pub mod reservation;
pub mod robot;
pub mod service_key;
pub mod spaceone_plugin;
pub mod tag;
pub mod team;
pub mod user;
pub mod values;

pub use actor::{Actor, ActorKind};
pub use aggregate::Aggregate;
pub use digest::{Digest, DigestAlgorithm};
pub use error::DomainError;
pub use event::DomainEvent;
pub use names::{Email, NamespaceName, RepositoryName};
pub use tag::TagName;
pub use values::{NamespaceKind, RepositoryKind, RepositoryState, Visibility};
