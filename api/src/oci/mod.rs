//! The OCI distribution API v1.1 (`/v2/...`), served on the registry listener: what docker,
//! podman, skopeo and oras talk to. Repository names contain `/`, so one wildcard route takes
//! every `/v2/...` path and [`Route::parse`] splits it at the last keyword segment
//! (`manifests`, `blobs`, `tags`, `referrers`), which a name component may repeat but a
//! reference never contains.
//!
//! - [`auth`]: basic and bearer authentication, the token endpoint's tokens.
//! - [`repo`]: opening a repository for pull or push (create on first push, tier, read-only).
//! - [`accept`]: content negotiation over every `Accept` header.
//! - [`blobs`], [`uploads`], [`manifests`], [`listing`]: the handlers.

pub mod accept;
pub mod auth;
pub mod blobs;
pub mod error;
pub mod listing;
pub mod manifests;
pub mod proxy;
pub mod repo;
pub mod token;
pub mod uploads;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use self::error::OciError;
use crate::state::AppState;

/// `202 Accepted` with an empty body: what a delete answers.
pub fn accepted() -> Response {
    Response::builder()
        .status(axum::http::StatusCode::ACCEPTED)
        .header(axum::http::header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .expect("valid response")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/", get(base))
        .route("/v2", get(base))
        .route("/v2/{*rest}", any(dispatch))
        .route("/token", get(token_route))
        .fallback(|| async {
            OciError::new(
                axum::http::StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                "no such route",
            )
        })
}

/// What a `/v2/...` path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Catalog,
    Tags(&'a str),
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    Uploads(&'a str),
    Upload(&'a str, &'a str),
    Referrers(&'a str, &'a str),
}

impl<'a> Route<'a> {
    pub fn parse(rest: &'a str) -> Option<Route<'a>> {
        if rest == "_catalog" {
            return Some(Route::Catalog);
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Some(Route::Tags(name));
        }
        if let Some(name) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return Some(Route::Uploads(name));
        }
        if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
            return Some(Route::Upload(name, id));
        }
        let (head, last) = rest.rsplit_once('/')?;
        let (name, keyword) = head.rsplit_once('/')?;
        match keyword {
            "manifests" => Some(Route::Manifest(name, last)),
            "blobs" => Some(Route::Blob(name, last)),
            "referrers" => Some(Route::Referrers(name, last)),
            _ => None,
        }
    }
}

/// A route's label for metrics: what the path names, never its values.
pub fn route_label(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/v2/") else {
        return match path {
            "/v2" => "base",
            "/token" => "token",
            _ => "unmatched",
        };
    };
    match Route::parse(rest) {
        _ if rest.is_empty() => "base",
        Some(Route::Catalog) => "catalog",
        Some(Route::Tags(_)) => "tags",
        Some(Route::Manifest(..)) => "manifest",
        Some(Route::Blob(..)) => "blob",
        Some(Route::Uploads(_)) => "uploads",
        Some(Route::Upload(..)) => "upload",
        Some(Route::Referrers(..)) => "referrers",
        None => "unmatched",
    }
}

fn finish(result: Result<Response, OciError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// `GET /v2/`: whether the client's credentials are good.
async fn base(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    finish(match auth::identify(&state, &parts, None).await {
        Ok(Some(_)) => Ok(axum::Json(serde_json::json!({})).into_response()),
        Ok(None) => Err(OciError::unauthorized(auth::challenge(&state, None))),
        Err(e) => Err(e),
    })
}

async fn token_route(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    finish(token::token(&state, &parts).await)
}

async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let rest = path.trim_start_matches("/v2/");
    finish(route(&state, &parts, rest, body).await)
}

/// Every route the registry listener serves, as (method, path template): the access matrix
/// test walks each of them, so keep this in step with [`route`].
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v2/"),
    ("GET", "/token"),
    ("GET", "/v2/_catalog"),
    ("GET", "/v2/{name}/tags/list"),
    ("GET", "/v2/{name}/manifests/{reference}"),
    ("HEAD", "/v2/{name}/manifests/{reference}"),
    ("PUT", "/v2/{name}/manifests/{reference}"),
    ("DELETE", "/v2/{name}/manifests/{reference}"),
    ("GET", "/v2/{name}/blobs/{digest}"),
    ("HEAD", "/v2/{name}/blobs/{digest}"),
    ("DELETE", "/v2/{name}/blobs/{digest}"),
    ("POST", "/v2/{name}/blobs/uploads/"),
    ("GET", "/v2/{name}/blobs/uploads/{id}"),
    ("PATCH", "/v2/{name}/blobs/uploads/{id}"),
    ("PUT", "/v2/{name}/blobs/uploads/{id}"),
    ("DELETE", "/v2/{name}/blobs/uploads/{id}"),
    ("GET", "/v2/{name}/referrers/{digest}"),
];

async fn route(
    state: &AppState,
    parts: &Parts,
    rest: &str,
    body: Body,
) -> Result<Response, OciError> {
    let Some(route) = Route::parse(rest) else {
        return Err(OciError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "no such route",
        ));
    };
    let method = parts.method.clone();
    match (route, method) {
        (Route::Catalog, Method::GET) => listing::catalog(state, parts).await,
        (Route::Tags(name), Method::GET) => listing::tags(state, parts, name).await,
        (Route::Manifest(name, r), Method::GET | Method::HEAD) => {
            manifests::get(state, parts, name, r).await
        }
        (Route::Manifest(name, r), Method::PUT) => {
            manifests::put(state, parts, name, r, body).await
        }
        (Route::Manifest(name, r), Method::DELETE) => {
            manifests::delete(state, parts, name, r).await
        }
        (Route::Blob(name, d), Method::GET | Method::HEAD) => {
            blobs::get(state, parts, name, d).await
        }
        (Route::Blob(name, d), Method::DELETE) => blobs::delete(state, parts, name, d).await,
        (Route::Uploads(name), Method::POST) => uploads::start(state, parts, name, body).await,
        (Route::Upload(name, id), Method::PATCH) => {
            uploads::patch(state, parts, name, id, body).await
        }
        (Route::Upload(name, id), Method::PUT) => uploads::put(state, parts, name, id, body).await,
        (Route::Upload(name, id), Method::GET) => uploads::status(state, parts, name, id).await,
        (Route::Upload(name, id), Method::DELETE) => uploads::cancel(state, parts, name, id).await,
        (Route::Referrers(name, d), Method::GET) => listing::referrers(state, parts, name, d).await,
        _ => Err(OciError::unsupported("method not allowed on this route")),
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn paths_split_at_the_last_keyword() {
        assert_eq!(
            Route::parse("a/b/manifests/latest"),
            Some(Route::Manifest("a/b", "latest"))
        );
        assert_eq!(
            Route::parse("a/manifests/c/manifests/v1"),
            Some(Route::Manifest("a/manifests/c", "v1"))
        );
        assert_eq!(
            Route::parse("a/b/blobs/uploads/"),
            Some(Route::Uploads("a/b"))
        );
        assert_eq!(
            Route::parse("a/b/blobs/uploads/123"),
            Some(Route::Upload("a/b", "123"))
        );
        assert_eq!(
            Route::parse("a/b/blobs/sha256:00"),
            Some(Route::Blob("a/b", "sha256:00"))
        );
        assert_eq!(Route::parse("a/b/tags/list"), Some(Route::Tags("a/b")));
        assert_eq!(
            Route::parse("a/b/referrers/sha256:00"),
            Some(Route::Referrers("a/b", "sha256:00"))
        );
        assert_eq!(Route::parse("_catalog"), Some(Route::Catalog));
        assert_eq!(Route::parse("a/b/other/x"), None);
    }
}
