//! Who calls a Gerrit route, and whether they hold the capability it needs.
//!
//! - `/a/plugins/...` is Gerrit's authenticated path: HTTP basic auth, the user name with an
//!   Annals token (or the account's password) as the HTTP password, as Gerrit's HTTP password
//!   works. No or bad credentials: 401 with `WWW-Authenticate: Basic realm="Gerrit Code
//!   Review"` (a bad password for a live user is recorded as a failed login).
//! - `/plugins/...` is the anonymous path. It honours an Annals `Authorization: Bearer` token
//!   when one is sent (a bad one is 401, as on every management route); without one the caller
//!   is anonymous, and Gerrit answers an anonymous user a capability-guarded request with 403
//!   `Authentication required`.
//!
//! The capabilities are rules in `domain::access` ('View Plugins' is `Need::ViewPlugins`,
//! 'Administrate Server' is `Need::SuperUser`); a refusal of an authenticated caller is recorded
//! in its audit log by `guard::plain`, like every family's.

use std::marker::PhantomData;

use annals_commands::Envelope;
use annals_domain::access::{Denial, Need};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;

use super::error::GerritError;
use crate::access::guard::{self, Attempt};
use crate::access::{refusals, resolve};
use crate::context::{self, AuthFailure, Caller};
use crate::state::AppState;

/// A Gerrit global capability a route needs.
pub trait Capability {
    const NEED: Need;
    /// How Gerrit names it in a refusal.
    const NAME: &'static str;
}

/// 'View Plugins': list plugins, read a plugin's status.
pub struct ViewPlugins;

impl Capability for ViewPlugins {
    const NEED: Need = Need::ViewPlugins;
    const NAME: &'static str = "view plugins";
}

/// 'Administrate Server': install, enable, disable, reload.
pub struct AdministrateServer;

impl Capability for AdministrateServer {
    const NEED: Need = Need::SuperUser;
    const NAME: &'static str = "administrate server";
}

/// A caller who holds capability `C`, and the envelope of the commands it issues.
pub struct Capable<C> {
    pub caller: Caller,
    pub envelope: Envelope,
    capability: PhantomData<fn() -> C>,
}

/// Whether the request came in on Gerrit's authenticated path.
pub fn authenticated_path(parts: &Parts) -> bool {
    parts.uri.path().starts_with("/a/")
}

/// The caller of a request on `/a/`: basic credentials are required.
async fn basic_caller(state: &AppState, parts: &Parts) -> Result<Caller, GerritError> {
    let pair = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(resolve::basic_pair);
    let Some((user, secret)) = pair else {
        state.metrics.count_refusal();
        return Err(GerritError::unauthorized());
    };
    match resolve::basic(state, &user, &secret).await? {
        Some(caller) => Ok(caller),
        None => {
            let envelope = context::anonymous_envelope(parts);
            refusals::login_failed_as(state, &envelope, &user, "gerrit").await;
            Err(GerritError::unauthorized())
        }
    }
}

/// The caller of a request on the anonymous path: a bearer token if one is sent.
async fn bearer_caller(state: &AppState, parts: &mut Parts) -> Result<Option<Caller>, GerritError> {
    match resolve::request_caller(state, parts).await {
        Ok(caller) => Ok(caller),
        Err(AuthFailure::Missing | AuthFailure::Invalid) => Err(GerritError::unauthorized()),
        Err(AuthFailure::Unavailable(m)) => Err(GerritError::internal(m)),
    }
}

impl<C: Capability> FromRequestParts<AppState> for Capable<C> {
    type Rejection = GerritError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, GerritError> {
        let caller = if authenticated_path(parts) {
            Some(basic_caller(state, parts).await?)
        } else {
            bearer_caller(state, parts).await?
        };
        let action = format!("{} {}", parts.method, parts.uri.path());
        guard::plain(
            state,
            parts,
            caller.as_ref(),
            C::NEED,
            Attempt::new(&action, "gerrit plugins"),
        )
        .await
        .map_err(|denial| match denial {
            Denial::Unauthenticated => {
                GerritError::new(StatusCode::FORBIDDEN, "Authentication required")
            }
            Denial::InsufficientScope(_) | Denial::Forbidden => {
                GerritError::new(StatusCode::FORBIDDEN, format!("{} not permitted", C::NAME))
            }
        })?;
        let caller = caller.ok_or_else(GerritError::unauthorized)?;
        let envelope = context::envelope(&caller, parts);
        Ok(Capable {
            caller,
            envelope,
            capability: PhantomData,
        })
    }
}
