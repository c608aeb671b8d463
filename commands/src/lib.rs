//! The command service of Annals: every change enters here.
//!
//! A command is carried in an [`Envelope`] (who, from where, under which idempotency key). The
//! service loads the streams the command depends on, asks the domain to `decide`, and appends the
//! resulting events to every stream in one atomic batch with the expected versions it read. A
//! conflict means someone else wrote in between: the whole load → decide → append is retried.
//! Uniqueness of names is enforced by appending to reservation streams in the same batch.

mod audit;
// Auto-prune policies and the tags they delete.
mod autoprune;
mod content;
mod envelope;
mod error;
mod event_subscriptions;
mod facts;
mod gerrit_plugins;
mod load;
mod log_exports;
mod messages;
mod metadata;
mod mirrors;
mod namespaces;
// Repository notifications.
mod notifications;
mod organizations;
mod permissions;
// Proxy-cache organizations and their fetches.
mod proxy_cache;
mod quotas;
mod registries;
mod repositories;
mod robots;
mod service;
mod service_keys;
mod spaceone_plugins;
mod teams;
mod users;

pub use annals_domain::content::ContentCommand;
pub use audit::audit_stream;
pub use autoprune::{PolicyChange, PolicyTarget};
pub use content::{ManifestPush, PushTarget};
pub use envelope::Envelope;
pub use error::CommandError;
pub use facts::{Facts, NoFacts};
pub use gerrit_plugins::GerritOutcome;
pub use load::{Loaded, load_until};
pub use metadata::Scope;
pub use organizations::{CreateOrganization, UpdateOrganization};
pub use quotas::REGISTRY_SIZE_STREAM;
pub use registries::{CreateRegistry, GcStep};
pub use repositories::{CreateRepository, RepositoryRef};
pub use service::{CommandService, Done};
pub use spaceone_plugins::SpacePluginAction;
pub use users::CreateUser;
