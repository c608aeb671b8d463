//! The HTTP side of Annals and its `annals` binary.
//!
//! - [`config`]: command-line flags and the environment variables behind them.
//! - [`backends`]: opens the event store and the read-model location the configuration names.
//! - [`server`]: `annals serve` — catch the read models up, bootstrap, run the projection
//!   runner, serve HTTP, shut down gracefully.
//! - [`listener`]: serving a listener: timeouts, a connection cap that sheds load, graceful
//!   shutdown with a deadline.
//! - [`observe`]: `/healthz`, `/readyz`, `/metrics` and request ids.
//! - [`access`]: who is calling (a credential → a user or robot) and what they hold.
//! - [`context`]: the authenticated request context and the command envelope of a request.
//! - [`idempotency`]: `Idempotency-Key`: a key names one request of one caller.
//! - [`quay`]: the Red Hat Quay API v1 family.
//! - [`docr`]: the DigitalOcean Container Registry API.
//! - [`gerrit`]: the Gerrit plugins REST API (`/plugins/`, `/a/plugins/`).
//! - [`events`]: the event stream (NDJSON, SSE) and webhook subscriptions (`/events/v1/`).
//! - [`oci`]: the OCI distribution API (the registry listener).
//! - [`spaceone`]: the SpaceONE repository Plugin API, over REST and gRPC (its own listener).
//! - [`secrets`]: the token-signing key (configured, or a private file made on first start).
//! - [`bench`]: `annals bench`, the benchmark that prints a table of figures.

pub mod access;
pub mod backends;
pub mod bench;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod context;
pub mod docr;
pub mod events;
pub mod gerrit;
pub mod history;
pub mod idempotency;
pub mod ledger;
pub mod listener;
pub mod observe;
pub mod oci;
pub mod quay;
pub mod secrets;
pub mod server;
pub mod spaceone;
pub mod state;
