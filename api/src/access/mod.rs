//! Who is calling and what they may do, for every family: a request's credential resolves to a
//! [`Caller`] (a user or a robot, with its credential's scopes), its standing on the target is
//! read from the access read models, and `annals_domain::access::authorize` decides. The
//! families only map a [`Denial`](annals_domain::access::Denial) to their own error shape.

pub mod cache;
pub mod caller;
pub mod guard;
pub mod password;
pub mod refusals;
pub mod resolve;
pub mod standing;
pub mod tokens;

pub use caller::{Caller, CredentialKind};
