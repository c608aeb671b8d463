//! What an operator watches, on the management listener:
//!
//! - `GET /healthz`: the process answers (liveness);
//! - `GET /readyz`: the event store and the read models answer, and every projection is within
//!   `ANNALS_READY_MAX_LAG` events of the head (readiness; 503 otherwise);
//! - `GET /metrics`: Prometheus (OpenMetrics text) — requests by family, route, method and
//!   status with latency histograms, append latency and events per append, group commits, the
//!   log's head and each projection's lag, open upload sessions, stored blob bytes;
//!
//! and a request id on every request of both listeners (`x-request-id`, kept from the client
//! when sane, else made), answered back, put in the request's log span and in the metadata of
//! the events its commands append.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id kept from a client; longer or odd ones are replaced.
const MAX_REQUEST_ID: usize = 128;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    family: &'static str,
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    family: &'static str,
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectorLabels {
    projector: String,
}

/// The metrics of one process (kept in [`AppState`], never in a static).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    append_latency: Histogram,
    append_events: Histogram,
    append_groups: Counter,
    append_batches: Counter,
    head: Gauge,
    projection_lag: Family<ProjectorLabels, Gauge>,
    open_uploads: Gauge,
    blob_bytes: Gauge,
    refusals: Counter,
}

fn seconds_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.000_25, 2.0, 16)
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("annals");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(seconds_buckets())) as fn() -> Histogram,
        );
        let append_latency = Histogram::new(seconds_buckets());
        let append_events = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        let (append_groups, append_batches) = (Counter::default(), Counter::default());
        let head = Gauge::default();
        let projection_lag = Family::<ProjectorLabels, Gauge>::default();
        let (open_uploads, blob_bytes) = (Gauge::default(), Gauge::default());
        registry.register(
            "http_requests",
            "Requests answered, by API family, route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request (to its response head)",
            latency.clone(),
        );
        registry.register(
            "append_duration_seconds",
            "Time for a command's events to be appended durably",
            append_latency.clone(),
        );
        registry.register(
            "append_events",
            "Events appended by one command",
            append_events.clone(),
        );
        registry.register(
            "store_commit_groups",
            "Commits of the event store (each a group of appends)",
            append_groups.clone(),
        );
        registry.register(
            "store_committed_appends",
            "Appends committed in those groups (their ratio is the mean group size)",
            append_batches.clone(),
        );
        registry.register(
            "log_head_position",
            "Position of the last event in the log",
            head.clone(),
        );
        registry.register(
            "projection_lag_events",
            "Events of the log a projection has not applied yet",
            projection_lag.clone(),
        );
        registry.register(
            "upload_sessions_open",
            "Blob upload sessions open",
            open_uploads.clone(),
        );
        let refusals = Counter::default();
        registry.register(
            "access_refusals",
            "Requests refused for their credentials or the caller's role",
            refusals.clone(),
        );
        registry.register(
            "blob_store_bytes",
            "Bytes of the stored blobs",
            blob_bytes.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            latency,
            append_latency,
            append_events,
            append_groups,
            append_batches,
            head,
            projection_lag,
            open_uploads,
            blob_bytes,
            refusals,
        }))
    }
}

impl Metrics {
    /// Records one append of `events` that took `took` (the command service calls this).
    pub fn observe_append(&self, took: Duration, events: usize) {
        self.0.append_latency.observe(took.as_secs_f64());
        self.0.append_events.observe(events as f64);
    }

    /// Counts a refused request (recorded in the log or not).
    pub fn count_refusal(&self) {
        self.0.refusals.inc();
    }

    fn observe_request(
        &self,
        family: &'static str,
        route: String,
        method: &str,
        status: u16,
        took: Duration,
    ) {
        self.0
            .latency
            .get_or_create(&RouteLabels {
                family,
                route: route.clone(),
                method: method.to_owned(),
            })
            .observe(took.as_secs_f64());
        self.0
            .requests
            .get_or_create(&RequestLabels {
                family,
                route,
                method: method.to_owned(),
                status,
            })
            .inc();
    }
}

/// Middleware: counts and times the requests of an API family. Routes are labelled by their
/// template (never the raw path, whose values are unbounded).
pub async fn track(
    State((metrics, family)): State<(Metrics, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let route = if family == "oci" {
        crate::oci::route_label(req.uri().path()).to_owned()
    } else {
        route
    };
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.observe_request(
        family,
        route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Middleware: drops a client's request id that is empty, too long or not visible ASCII, so
/// that a fresh one is made in its place.
pub async fn sane_request_id(mut req: Request, next: Next) -> Response {
    let sane = req.headers().get(REQUEST_ID).is_none_or(|v| {
        !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.as_bytes().iter().all(u8::is_ascii_graphic)
    });
    if !sane {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

/// The request id of a request, once [`sane_request_id`] and tower-http's layers ran.
pub fn request_id(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process answers (liveness).
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`, or `not ready` with the reason in `problems`.
    pub status: &'static str,
    /// Position of the log's last event.
    pub head: Option<u64>,
    /// Each projection's checkpoint.
    pub projections: Vec<ProjectionReadiness>,
    pub max_lag: u64,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectionReadiness {
    pub name: String,
    pub position: u64,
    pub lag: u64,
}

/// How far each projection is behind the head, read from the stores.
async fn projection_lags(state: &AppState) -> (Option<u64>, Vec<ProjectionReadiness>, Vec<String>) {
    let mut problems = Vec::new();
    let head = match state.store.head().await {
        Ok(h) => Some(h),
        Err(e) => {
            problems.push(format!("event store: {e}"));
            None
        }
    };
    let db = state.db();
    let mut projections = Vec::new();
    for projector in annals_projections::all_projectors() {
        match db.checkpoint(projector.name()).await {
            Ok(position) => projections.push(ProjectionReadiness {
                name: projector.name().to_owned(),
                position,
                lag: head.map_or(0, |h| h.saturating_sub(position)),
            }),
            Err(e) => problems.push(format!("read models ({}): {e}", projector.name())),
        }
    }
    (head, projections, problems)
}

/// The stores answer and every projection is within `ANNALS_READY_MAX_LAG` events of the head
/// (readiness); 503 with the problems otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready, and why", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (head, projections, mut problems) = projection_lags(&state).await;
    for p in &projections {
        if p.lag > state.ready_max_lag {
            problems.push(format!(
                "projection {} is {} events behind (at most {})",
                p.name, p.lag, state.ready_max_lag
            ));
        }
    }
    let ready = problems.is_empty();
    let body = Readiness {
        status: if ready { "ready" } else { "not ready" },
        head,
        projections,
        max_lag: state.ready_max_lag,
        problems,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics in the OpenMetrics text format; gauges are read from the stores as they
/// are asked for.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics.0;
    let (head, projections, _) = projection_lags(&state).await;
    if let Some(head) = head {
        m.head.set(head as i64);
    }
    for p in projections {
        m.projection_lag
            .get_or_create(&ProjectorLabels { projector: p.name })
            .set(p.lag as i64);
    }
    let (groups, batches) = state.store.append_stats();
    m.append_groups
        .inc_by(groups.saturating_sub(m.append_groups.get()));
    m.append_batches
        .inc_by(batches.saturating_sub(m.append_batches.get()));
    m.open_uploads.set(state.blobs.open_uploads() as i64);
    m.blob_bytes.set(state.blobs.stored_bytes() as i64);
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &m.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
