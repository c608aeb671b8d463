//! Time travel: every GET of a single resource (and its lists) takes `as_of` — an RFC 3339 time
//! or `position:N` — and answers the resource as it stood after that point of the log, with the
//! position it answered at in `Annals-As-Of-Position`.
//!
//! How: the middleware finds the resource the path names ([`targets`]) and the streams it was
//! folded from at that position ([`sources`]), folds exactly those streams' events up to there
//! into scratch read models in memory (`annals_workers::past`), and runs the same route against
//! them. So a past answer has the live route's shape and comes from events, never from old rows;
//! access is still decided on the live read models (today's credentials and grants, the
//! resource as it stood then). A resource that did not exist yet answers the route's own 404; one
//! deleted since answers as it was, to whoever may read its namespace now.

pub mod docs;
pub mod sources;
pub mod targets;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use annals_projections::generation::Location;
use annals_projections::sql::{DbError, ReadDb};
use tokio::sync::Mutex;

use annals_domain::as_of::AsOf;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::access::resolve;
use crate::state::AppState;
use targets::{Family, Target};

/// The response header naming the position a past answer was computed at.
pub const AS_OF_POSITION: &str = "annals-as-of-position";

/// The query parameter.
pub const AS_OF: &str = "as_of";

/// How long a past read waits for a turn before it answers 503.
const WAIT_FOR_TURN: Duration = Duration::from_secs(30);

/// The request header that reads a past generation (`annals replay --to-position --name`).
pub const GENERATION: &str = "annals-generation";

/// Past generations kept open at most.
const OPEN_GENERATIONS: usize = 8;

type OpenGenerations = HashMap<String, (u64, Arc<dyn ReadDb>)>;

/// What time-travel reads share: how many run at once, how much history one may fold, and the
/// past generations opened so far.
#[derive(Clone)]
pub struct HistorySettings {
    pub turns: Arc<Semaphore>,
    pub max_events: usize,
    location: Location,
    open: Arc<Mutex<OpenGenerations>>,
}

impl HistorySettings {
    pub fn new(max_events: usize, location: Location) -> Self {
        // Folding is CPU work; two at once leave the other requests room on a small machine.
        HistorySettings {
            turns: Arc::new(Semaphore::new(2)),
            max_events,
            location,
            open: Arc::default(),
        }
    }

    /// The past generation `name` and the position it was built at, if it is built. Asked
    /// on every request, so a generation dropped meanwhile stops serving at once.
    async fn generation(&self, name: &str) -> Result<Option<(u64, Arc<dyn ReadDb>)>, DbError> {
        let Some(built) = self.location.past(name).await? else {
            self.open.lock().await.remove(name);
            return Ok(None);
        };
        let mut open = self.open.lock().await;
        if let Some((position, db)) = open.get(name)
            && *position == built.position
        {
            return Ok(Some((*position, db.clone())));
        }
        let Some((built, db)) = self.location.open_past(name).await? else {
            return Ok(None);
        };
        if open.len() >= OPEN_GENERATIONS {
            open.clear();
        }
        open.insert(name.to_owned(), (built.position, db.clone()));
        Ok(Some((built.position, db)))
    }
}

/// Which listener a [`travel`] layer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Management,
    Registry,
}

/// Middleware over a listener's routes: answers a GET with `as_of` (or `Annals-Generation`) from
/// the past, by running `routes` over past read models; any other request passes through.
pub async fn travel(
    State((state, routes, listener)): State<(AppState, Router<AppState>, Listener)>,
    req: Request,
    next: Next,
) -> Response {
    let generation = req.headers().get(GENERATION).cloned();
    let raw = param(req.uri());
    if generation.is_none() && raw.is_none() {
        return next.run(req).await;
    }
    let family = match listener {
        Listener::Management => Family::of(req.uri().path()),
        Listener::Registry => Family::Oci,
    };
    let fail = |status: StatusCode, message: String| error(&state, family, status, message);
    if let Some(name) = generation {
        if raw.is_some() {
            return fail(
                StatusCode::BAD_REQUEST,
                "as_of and Annals-Generation cannot be combined".into(),
            );
        }
        return in_generation(&state, routes, req, name.to_str().unwrap_or_default(), fail).await;
    }
    let Some(raw) = raw else {
        return next.run(req).await;
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return fail(
            StatusCode::BAD_REQUEST,
            "as_of is read only by GET requests".into(),
        );
    }
    let target = match listener {
        Listener::Management => targets::target(req.uri().path()),
        Listener::Registry => targets::oci_target(req.uri().path()),
    };
    let Some(target) = target else {
        return fail(
            StatusCode::BAD_REQUEST,
            "this route does not answer as_of; GET a single resource instead".into(),
        );
    };
    let as_of = match AsOf::parse(&raw) {
        Ok(a) => a,
        Err(message) => return fail(StatusCode::BAD_REQUEST, message),
    };
    let position = match resolve_position(&state, as_of).await {
        Ok(Ok(p)) => p,
        Ok(Err(message)) => return fail(StatusCode::BAD_REQUEST, message),
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (mut parts, body) = req.into_parts();
    // The caller is resolved on the live read models (and remembered in the request, so the
    // route does not resolve it again against the past ones).
    let caller = match target {
        Target::OwnAccount | Target::OwnRegistry => resolve::request_caller(&state, &mut parts)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    let Ok(turn) =
        tokio::time::timeout(WAIT_FOR_TURN, state.history.turns.clone().acquire_owned()).await
    else {
        return fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many time-travel reads at once; try again".into(),
        );
    };
    let sources = match sources::sources(&state, &target, position, caller.as_ref()).await {
        Ok(s) => s,
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let past = annals_workers::past::read_models_at(
        state.store.clone(),
        annals_projections::all_projectors(),
        &sources,
        position,
        state.history.max_events,
    )
    .await;
    drop(turn);
    let db = match past {
        Ok(db) => db,
        Err(annals_workers::past::PastError::TooMuchHistory(n)) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!(
                    "this resource has more than {n} events up to that point; build a past \
                     generation with `annals replay --to-position` to inspect it"
                ),
            );
        }
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    parts.uri = without_param(&parts.uri);
    run_in_past(&state, routes, db, position, fresh(parts, body)).await
}

/// Runs `req` through `routes` over the past read models `db`, answering the position.
async fn run_in_past(
    state: &AppState,
    routes: Router<AppState>,
    db: Arc<dyn ReadDb>,
    position: u64,
    req: Request,
) -> Response {
    let mut response = match routes.with_state(state.at(db)).oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    response
        .headers_mut()
        .insert(AS_OF_POSITION, HeaderValue::from(position));
    response
}

/// Answers `req` from the past generation `name`, read-only.
async fn in_generation(
    state: &AppState,
    routes: Router<AppState>,
    req: Request,
    name: &str,
    fail: impl Fn(StatusCode, String) -> Response,
) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return fail(
            StatusCode::BAD_REQUEST,
            "a past generation is read-only: only GET requests may name one".into(),
        );
    }
    let (position, db) = match state.history.generation(name).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return fail(
                StatusCode::NOT_FOUND,
                format!(
                    "no past generation named {name:?}; build one with `annals replay --to-position`"
                ),
            );
        }
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (parts, body) = req.into_parts();
    run_in_past(state, routes, db, position, fresh(parts, body)).await
}

/// The request to route again: what the client sent, the peer's address and the caller
/// resolved so far — not what routing this request added (its path parameters).
fn fresh(parts: axum::http::request::Parts, body: axum::body::Body) -> Request {
    let mut req = Request::new(body);
    *req.method_mut() = parts.method;
    *req.uri_mut() = parts.uri;
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers;
    if let Some(peer) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        req.extensions_mut().insert(*peer);
    }
    resolve::carry_caller(&parts.extensions, req.extensions_mut());
    req
}

/// The position `as_of` names: a time is the last event recorded at or before it; a position
/// past the head is refused (the future is not known yet).
async fn resolve_position(
    state: &AppState,
    as_of: AsOf,
) -> Result<Result<u64, String>, annals_store::StoreError> {
    let head = state.store.head().await?;
    Ok(match as_of {
        AsOf::Position(p) if p > head => Err(format!(
            "as_of position {p} is beyond the end of the log ({head})"
        )),
        AsOf::Position(p) => Ok(p),
        AsOf::Time(t) => Ok(annals_workers::past::position_at(state.store.as_ref(), t).await?),
    })
}

/// The value of `as_of` in the query, if any.
fn param(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == AS_OF)
        .map(|(_, v)| v.into_owned())
}

/// The URI without `as_of`, so the route reads its own parameters as usual.
fn without_param(uri: &Uri) -> Uri {
    let Some(query) = uri.query() else {
        return uri.clone();
    };
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != AS_OF)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut path_and_query = uri.path().to_owned();
    if !kept.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    path_and_query.parse().unwrap_or_else(|_| uri.clone())
}

/// An error in the family's own shape.
fn error(state: &AppState, family: Family, status: StatusCode, message: String) -> Response {
    match family {
        Family::Quay => {
            let kind = match status {
                StatusCode::BAD_REQUEST => "invalid_request",
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                _ => "internal_error",
            };
            crate::quay::error::QuayError::new(status, kind, message)
                .render(state.public_url.trim_end_matches('/'))
        }
        Family::DigitalOcean => {
            let id = match status {
                StatusCode::BAD_REQUEST => "bad_request",
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                _ => "server_error",
            };
            crate::docr::error::DoError::new(status, id, message).into_response()
        }
        Family::SpaceOne => match status {
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
                crate::spaceone::error::SpaceError::invalid(message)
            }
            _ => crate::spaceone::error::SpaceError::internal(message),
        }
        .into_response(),
        Family::Oci => {
            let code = match status {
                StatusCode::BAD_REQUEST => "UNSUPPORTED",
                StatusCode::NOT_FOUND => "NAME_UNKNOWN",
                _ => "UNKNOWN",
            };
            crate::oci::error::OciError::new(status, code, message).into_response()
        }
        Family::Gerrit | Family::Other => {
            crate::gerrit::error::GerritError::new(status, message).into_response()
        }
    }
}
