//! Extractors that answer their failures in DigitalOcean's error shape, and what every handler
//! of the family shares: the caller's registry, paging and times.

use annals_projections::queries::registries::{self, RegistryView};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use annals_commands::Envelope;
use annals_domain::access::Need;
use axum::http::Method;

use super::error::DoError;
use crate::access::guard::{self, Attempt};
use crate::context::{self, Caller};
use crate::state::AppState;

/// The authenticated caller and the envelope, failures answered in this family's shape. Every
/// route acts on the caller's own registry, so the check is that the caller is a user whose
/// credential allows reading (`GET`) or changing it.
pub struct Ctx {
    pub caller: Caller,
    pub envelope: Envelope,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = DoError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, DoError> {
        let ctx = context::Ctx::<DoError>::from_request_parts(parts, state).await?;
        let write = !matches!(parts.method, Method::GET | Method::HEAD);
        let action = format!("{} {}", parts.method, parts.uri.path());
        guard::plain(
            state,
            parts,
            Some(&ctx.caller),
            Need::Registry { owns: true, write },
            Attempt::new(&action, "registry"),
        )
        .await?;
        Ok(Ctx {
            caller: ctx.caller,
            envelope: ctx.envelope,
        })
    }
}

/// A JSON body; a malformed one is a `bad_request`. An empty body (or `null`) reads as `{}` (DigitalOcean's
/// clients send none where every field is optional).
pub struct DoJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for DoJson<T> {
    type Rejection = DoError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| DoError::bad_request(e.body_text()))?;
        let bytes: &[u8] =
            if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
                b"{}"
            } else {
                &bytes
            };
        serde_json::from_slice(bytes)
            .map(DoJson)
            .map_err(|e| DoError::bad_request(format!("malformed JSON body: {e}")))
    }
}

/// Query parameters; unparseable ones are a `bad_request`.
pub struct DoQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for DoQuery<T> {
    type Rejection = DoError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| DoQuery(v))
            .map_err(|e| {
                DoError::bad_request(format!("invalid query parameters: {}", e.body_text()))
            })
    }
}

/// Path parameters, percent-decoded (a repository name's `/` arrives as `%2F`).
pub struct DoPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for DoPath<T> {
    type Rejection = DoError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| DoPath(v))
            .map_err(|e| DoError::not_found(e.body_text()))
    }
}

/// The caller's registry (404 when the account has none).
pub async fn account_registry(state: &AppState, caller: &Caller) -> Result<RegistryView, DoError> {
    registries::by_owner(state.db().as_ref(), caller.user_id)
        .await?
        .ok_or_else(|| DoError::not_found("registry not found"))
}

/// The caller's registry, which the path must name (404 otherwise).
pub async fn named_registry(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<RegistryView, DoError> {
    let registry = account_registry(state, caller).await?;
    if registry.name != name {
        return Err(DoError::not_found(format!("registry {name:?} not found")));
    }
    Ok(registry)
}

/// Microseconds since the epoch as RFC 3339 (seconds, `Z`).
pub fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `page` and `per_page` (DigitalOcean's defaults: 1 and 20; at most 200 a page).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Which 'page' of paginated results to return.
    #[param(minimum = 1, maximum = 100_000)]
    pub page: Option<u64>,
    /// Number of items returned per page.
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

pub const MAX_PER_PAGE: u64 = 200;

/// The highest `page` accepted: far past any real listing, small enough that nothing computed
/// from it overflows.
pub const MAX_PAGE: u64 = 100_000;

/// `value` within `min..=max`, or a 422 naming the bounds (an absurd value is never echoed).
pub fn bounded(name: &str, value: Option<u64>, min: u64, max: u64) -> Result<(), DoError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(DoError::unprocessable(format!(
            "{name} must be between {min} and {max}"
        ))),
        _ => Ok(()),
    }
}

impl PageQuery {
    /// The same paging, refused (422) when `page` or `per_page` is out of bounds.
    pub fn checked(self) -> Result<Self, DoError> {
        bounded("page", self.page, 1, MAX_PAGE)?;
        bounded("per_page", self.per_page, 1, MAX_PER_PAGE)?;
        Ok(self)
    }

    pub fn page(&self) -> u64 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn per_page(&self) -> u64 {
        self.per_page.unwrap_or(20).clamp(1, MAX_PER_PAGE)
    }

    pub fn offset(&self) -> u64 {
        (self.page() - 1).saturating_mul(self.per_page())
    }
}

/// A link to `path` with these query parameters, on the public URL.
pub fn link(state: &AppState, path: &str, query: &[(&str, String)]) -> String {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("{}{path}?{}", state.public_url, query.join("&"))
}

/// Percent-encodes a path segment or query value (unreserved characters stay).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `meta` of a list: how many items there are in all.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Meta {
    pub total: u64,
}

/// `links` of a list.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Links {
    pub pages: PageLinks,
}

/// Links to the other pages of a list (those that exist).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PageLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

/// `{"meta": {"total"}, "links": {"pages": {first, prev, next, last}}}` of a numbered page.
pub fn page_envelope(state: &AppState, path: &str, q: &PageQuery, total: u64) -> (Meta, Links) {
    let (page, per_page) = (q.page(), q.per_page());
    let last = total.div_ceil(per_page).max(1);
    let at = |p: u64| {
        link(
            state,
            path,
            &[("page", p.to_string()), ("per_page", per_page.to_string())],
        )
    };
    let mut pages = PageLinks::default();
    if page > 1 {
        pages.first = Some(at(1));
        pages.prev = Some(at((page - 1).min(last)));
    }
    if page < last {
        pages.next = Some(at(page + 1));
        pages.last = Some(at(last));
    }
    (Meta { total }, Links { pages })
}
