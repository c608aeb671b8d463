//! Extractors that let a Quay handler run only once its caller passed the access check: on the
//! organization its route names ([`InOrg`]), on its own account ([`Account`]), or as a
//! superuser ([`Super`]). Repository routes are checked in `repositories::dispatch`. The checks
//! are `crate::access::guard`'s; this module only maps their refusals onto Quay's errors.

use std::marker::PhantomData;

use annals_domain::access::{Denial, NamespaceStanding, Need};
use annals_projections::queries::namespaces::{self, NamespaceView};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::QuayError;
use super::extract::Ctx;
use crate::access::guard::{self, Attempt, NamespaceAccess, Refused};
use crate::access::{Caller, resolve};
use crate::state::AppState;

impl From<Denial> for QuayError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Unauthenticated => QuayError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Requires authentication: send Authorization: Bearer <token>",
            ),
            Denial::InsufficientScope(scope) => QuayError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("The token lacks the scope {}", scope.as_str()),
            ),
            Denial::Forbidden => {
                QuayError::new(StatusCode::FORBIDDEN, "unauthorized", "Unauthorized")
            }
        }
    }
}

impl From<Refused> for QuayError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Denied(d) => d.into(),
            Refused::Db(e) => e.into(),
        }
    }
}

/// The request's method and path, as a refusal records it.
fn action(parts: &Parts) -> String {
    format!("{} {}", parts.method, parts.uri.path())
}

/// What an [`InOrg`] route does to its organization.
pub trait OrgNeed {
    const ACCESS: NamespaceAccess;
}

/// Any member may look (its teams, its members).
pub struct Member;
/// Only its administrators.
pub struct OrgAdmin;

impl OrgNeed for Member {
    const ACCESS: NamespaceAccess = NamespaceAccess::View;
}
impl OrgNeed for OrgAdmin {
    const ACCESS: NamespaceAccess = NamespaceAccess::Admin;
}

/// A request on the organization `{orgname}` whose caller holds `N` there.
pub struct InOrg<N> {
    pub ctx: Ctx,
    pub org: NamespaceView,
    pub standing: NamespaceStanding,
    need: PhantomData<fn() -> N>,
}

/// The live organization the route's `{orgname}` names, or Quay's 404.
async fn named_org(parts: &mut Parts, state: &AppState) -> Result<NamespaceView, QuayError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| QuayError::not_found("No such organization"))?;
    let name = params
        .iter()
        .find(|(key, _)| *key == "orgname")
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default();
    namespaces::by_name(state.db().as_ref(), &name)
        .await?
        .filter(NamespaceView::is_organization)
        .ok_or_else(|| QuayError::not_found(format!("Organization {name} not found")))
}

impl<N: OrgNeed> FromRequestParts<AppState> for InOrg<N> {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, QuayError> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let org = named_org(parts, state).await?;
        let action = action(parts);
        let standing = guard::namespace(
            state,
            parts,
            Some(&ctx.caller),
            &org,
            N::ACCESS,
            Attempt::new(&action, &org.name),
        )
        .await?;
        Ok(InOrg {
            ctx,
            org,
            standing,
            need: PhantomData,
        })
    }
}

impl<N> InOrg<N> {
    /// Whether the caller administers the organization.
    pub fn is_admin(&self) -> bool {
        self.standing.is_admin() || self.ctx.caller.acts_as_super_user()
    }
}

/// The authenticated caller, once the rules allow it `need` (concerning `resource`).
async fn checked(
    parts: &mut Parts,
    state: &AppState,
    need: Need,
    resource: Option<&str>,
) -> Result<Ctx, QuayError> {
    let ctx = Ctx::from_request_parts(parts, state).await?;
    let action = action(parts);
    let resource = resource.unwrap_or(&ctx.caller.username);
    guard::plain(
        state,
        parts,
        Some(&ctx.caller),
        need,
        Attempt::new(&action, resource),
    )
    .await?;
    Ok(ctx)
}

/// A request on the caller's own account: reading it (`GET`) needs `user:read`, changing it
/// `user:admin`; robots have no account.
pub struct Account(pub Ctx);

impl FromRequestParts<AppState> for Account {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, QuayError> {
        let need = if parts.method == axum::http::Method::GET {
            Need::ReadSelf
        } else {
            Need::AdminSelf
        };
        Ok(Account(checked(parts, state, need, None).await?))
    }
}

/// A request on the caller's own account that Quay guards with `require_user_admin`, even to
/// read: `user:admin` for every method, users only (the auto-prune policies and the quotas of
/// the user's namespace).
pub struct AccountAdmin(pub Ctx);

impl FromRequestParts<AppState> for AccountAdmin {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, QuayError> {
        Ok(AccountAdmin(
            checked(parts, state, Need::AdminSelf, None).await?,
        ))
    }
}

/// A superuser's request (with `super:user`).
pub struct Super(pub Ctx);

impl FromRequestParts<AppState> for Super {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, QuayError> {
        Ok(Super(
            checked(parts, state, Need::SuperUser, Some("superuser")).await?,
        ))
    }
}

/// A request that may create an organization (a user with `user:admin`).
pub struct OrgCreator(pub Ctx);

impl FromRequestParts<AppState> for OrgCreator {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, QuayError> {
        let need = Need::CreateOrganization;
        Ok(OrgCreator(
            checked(parts, state, need, Some("organization")).await?,
        ))
    }
}

/// The caller, if the request authenticated (an invalid credential is still a 401): for the
/// routes anyone may read.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, QuayError> {
        Ok(MaybeCaller(resolve::request_caller(state, parts).await?))
    }
}
