//! `GET /events/v1/stream`: the log as CloudEvents, from a position on, then live.
//!
//! - `from=N`: the events after position N (default 0: from the first). `Last-Event-ID` (what an
//!   SSE client sends when it reconnects) takes its place, so a consumer resumes exactly after
//!   the last event it saw. Both are decimal, at most `i64::MAX`.
//! - `type` (repeatable, or a comma-separated list), `namespace`, `repository`: only the events
//!   they match (`annals_domain::event_subscription::Selector`).
//! - `follow=false` ends the answer at the head instead of following the log.
//! - NDJSON (`application/x-ndjson`, one event per line) unless the request accepts
//!   `text/event-stream`: then Server-Sent Events, each `id:` the event's position.
//!
//! Events are produced as the client reads: a page of the log (at most [`PAGE`] events) is read
//! only once the one before was sent, so a slow consumer holds one page, not the log. While
//! nothing is sent for the keep-alive interval, NDJSON sends an empty line and SSE a comment.
//! A stream ends after `ANNALS_EVENTS_MAX_STREAM_S`; the consumer resumes where it stopped.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use annals_domain::access::Need;
use annals_domain::event_subscription::Selector;
use annals_store::{EventFilter, RecordedEvent};
use annals_workers::cloudevent::{self, CloudEvent};
use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::visibility::Visibility;
use crate::access::guard::{self, Attempt};
use crate::quay::error::QuayError;
use crate::quay::extract::Ctx;
use crate::state::AppState;

/// Events read from the log at a time.
pub const PAGE: usize = 256;
/// The longest wait on the store before the keep-alive clock is looked at again.
const WAIT_SLICE: Duration = Duration::from_secs(5);

/// What the query asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRequest {
    pub after: u64,
    pub selector: Selector,
    pub follow: bool,
}

/// A position: decimal digits, at most `i64::MAX`.
fn position(name: &str, value: &str) -> Result<u64, QuayError> {
    let bad =
        || QuayError::invalid_request(format!("{name} must be an integer from 0 to {}", i64::MAX));
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value
        .parse::<u64>()
        .ok()
        .filter(|p| *p <= i64::MAX as u64)
        .ok_or_else(bad)
}

/// Reads the query string and `Last-Event-ID`.
pub fn parse(query: Option<&str>, headers: &HeaderMap) -> Result<StreamRequest, QuayError> {
    let mut request = StreamRequest {
        after: 0,
        selector: Selector::default(),
        follow: true,
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "from" => request.after = position("from", &value)?,
            "type" => request.selector.types.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "namespace" if !value.is_empty() => request.selector.namespace = Some(value.into()),
            "repository" if !value.is_empty() => request.selector.repository = Some(value.into()),
            "namespace" | "repository" => {}
            "follow" => {
                request.follow = match value.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(QuayError::invalid_request("follow must be true or false")),
                }
            }
            other => {
                return Err(QuayError::invalid_request(format!(
                    "unknown parameter {:?}",
                    other.chars().take(64).collect::<String>()
                )));
            }
        }
        if request.selector.types.len() > annals_domain::event_subscription::MAX_TYPES {
            return Err(QuayError::invalid_request(format!(
                "at most {} event types may be selected",
                annals_domain::event_subscription::MAX_TYPES
            )));
        }
    }
    if let Some(id) = headers.get("last-event-id") {
        let id = id
            .to_str()
            .map_err(|_| QuayError::invalid_request("Last-Event-ID must be a position"))?
            .trim();
        if !id.is_empty() {
            request.after = position("Last-Event-ID", id)?;
        }
    }
    request.selector = request.selector.validated()?;
    Ok(request)
}

/// One thing to send.
pub enum Item {
    Event(u64, Box<CloudEvent>),
    KeepAlive,
}

/// Where a stream is, between two items.
struct Cursor {
    state: AppState,
    visibility: Visibility,
    selector: Selector,
    filter: EventFilter,
    after: u64,
    follow: bool,
    buffer: VecDeque<RecordedEvent>,
    last_sent: Instant,
    /// When the stream ends anyway (`ANNALS_EVENTS_MAX_STREAM_S`).
    deadline: Instant,
}

impl Cursor {
    /// The next item, or None at the end (the head without `follow`, or a failed read).
    async fn next(&mut self) -> Option<Item> {
        let keepalive = self.state.events.keepalive;
        loop {
            while let Some(event) = self.buffer.pop_front() {
                self.after = event.position;
                let scope = cloudevent::scope(&event);
                if !self.selector.matches(&event.event_type, scope) {
                    continue;
                }
                match self.visibility.may_see(scope.namespace_id).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!("event stream: reading a standing: {e}");
                        return None;
                    }
                }
                self.last_sent = Instant::now();
                let ce = CloudEvent::from_recorded(&event, &self.state.events.source_prefix);
                return Some(Item::Event(event.position, Box::new(ce)));
            }
            if Instant::now() >= self.deadline {
                return None;
            }
            if self.last_sent.elapsed() >= keepalive {
                self.last_sent = Instant::now();
                return Some(Item::KeepAlive);
            }
            let page = match self
                .state
                .store
                .read_all(self.after, PAGE, &self.filter)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("event stream: reading the log: {e}");
                    return None;
                }
            };
            if page.is_empty() {
                if !self.follow {
                    return None;
                }
                let wait = keepalive
                    .saturating_sub(self.last_sent.elapsed())
                    .min(self.deadline.saturating_duration_since(Instant::now()))
                    .min(WAIT_SLICE);
                let _ = tokio::time::timeout(wait, self.state.store.wait_for_new(self.after)).await;
                continue;
            }
            self.buffer.extend(page);
        }
    }
}

/// The items of a stream, produced as they are pulled.
fn items(
    state: AppState,
    visibility: Visibility,
    request: StreamRequest,
) -> impl Stream<Item = Item> {
    let deadline = Instant::now() + state.events.max_stream;
    let cursor = Cursor {
        deadline,
        filter: EventFilter {
            stream_prefixes: Vec::new(),
            event_types: request.selector.types.clone(),
        },
        state,
        visibility,
        selector: request.selector,
        after: request.after,
        follow: request.follow,
        buffer: VecDeque::new(),
        last_sent: Instant::now(),
    };
    futures::stream::unfold(cursor, |mut cursor| async move {
        cursor.next().await.map(|item| (item, cursor))
    })
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/event-stream"))
}

/// The log as CloudEvents: NDJSON, or Server-Sent Events for `Accept: text/event-stream`.
/// A caller sees the events of the namespaces whose logs it may read (all of them as a
/// superuser). Blank NDJSON lines and SSE comments are keep-alives.
#[utoipa::path(get, path = "/events/v1/stream", operation_id = "streamEvents", tag = "events",
    params(
        ("from" = Option<u64>, Query, description = "Send the events after this position (default 0)", maximum = 9223372036854775807_u64),
        ("type" = Option<Vec<String>>, Query, description = "Only these event types (repeatable, or comma-separated)"),
        ("namespace" = Option<String>, Query, description = "Only events of this namespace"),
        ("repository" = Option<String>, Query, description = "Only events of repositories of this name"),
        ("follow" = Option<bool>, Query, description = "false: end at the head of the log instead of following it (default true)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this position (SSE reconnects send it); replaces from"),
    ),
    responses(
        (status = 200, description = "CloudEvents 1.0 (JSON format): NDJSON, one event per line (the schema is the sequence of lines), or one per SSE event (its id is the position)",
            content((Vec<CloudEvent> = "application/x-ndjson"), (String = "text/event-stream"))),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> Result<Response, QuayError> {
    let action = format!("{} {}", parts.method, parts.uri.path());
    guard::plain(
        &state,
        &parts,
        Some(&ctx.caller),
        Need::FollowEvents,
        Attempt::new(&action, "events"),
    )
    .await?;
    let request = parse(parts.uri.query(), &parts.headers)?;
    let visibility = Visibility::new(state.clone(), ctx.caller);
    let items = items(state, visibility, request);
    if wants_sse(&parts.headers) {
        let events = items.map(|item| {
            Ok::<_, Infallible>(match item {
                Item::Event(position, ce) => Event::default()
                    .id(position.to_string())
                    .data(serde_json::to_string(&ce).unwrap_or_default()),
                Item::KeepAlive => Event::default().comment("keep-alive"),
            })
        });
        let mut response = Sse::new(events).into_response();
        response
            .headers_mut()
            .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
        return Ok(response);
    }
    let lines = items.map(|item| {
        Ok::<_, Infallible>(match item {
            Item::Event(_, ce) => {
                let mut line = serde_json::to_vec(&ce).unwrap_or_default();
                line.push(b'\n');
                Bytes::from(line)
            }
            Item::KeepAlive => Bytes::from_static(b"\n"),
        })
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(lines),
    )
        .into_response())
}
