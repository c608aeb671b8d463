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
//! Events are produced as the client reads, a page of the log at a time: each page is written
//! as one chunk (the events serialized straight into it), and the next page is read while that
//! chunk is sent, so a slow consumer holds at most two pages, not the log. Pages start at
//! [`PAGE`] events and grow to [`MAX_PAGE`] while they come back full (a consumer catching up).
//! While nothing is sent for the keep-alive interval, NDJSON sends an empty line and SSE a
//! comment. A stream ends after `ANNALS_EVENTS_MAX_STREAM_S`; the consumer resumes where it
//! stopped.

use std::convert::Infallible;
use std::io::Write;
use std::time::{Duration, Instant};

use annals_domain::access::Need;
use annals_domain::event_subscription::Selector;
use annals_store::{EventFilter, RawRecordedEvent, StoreResult};
use annals_workers::cloudevent::{self, CloudEvent, EventMeta};
use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::Stream;
use futures::future::{FutureExt, RemoteHandle};

use super::visibility::Visibility;
use crate::access::guard::{self, Attempt};
use crate::quay::error::QuayError;
use crate::quay::extract::Ctx;
use crate::state::AppState;

/// Events read from the log at a time at first (and while following the head).
pub const PAGE: usize = 256;
/// The largest page, reached while pages come back full.
pub const MAX_PAGE: usize = 1024;
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

/// How events are framed.
#[derive(Clone, Copy)]
enum Format {
    NdJson,
    Sse,
}

impl Format {
    fn keepalive(self) -> Bytes {
        Bytes::from_static(match self {
            Format::NdJson => b"\n",
            Format::Sse => b": keep-alive\n\n",
        })
    }
}

// Read as text: an event's data goes out as stored, never parsed into a tree.
type Page = StoreResult<Vec<RawRecordedEvent>>;

/// Where a stream is, between two chunks.
struct Cursor {
    state: AppState,
    visibility: Visibility,
    selector: Selector,
    /// A superuser with no selector: every event is sent, nothing need be looked at.
    sees_all: bool,
    filter: EventFilter,
    format: Format,
    after: u64,
    follow: bool,
    /// Events asked for by the next read.
    limit: usize,
    /// The next page, being read while the last chunk is sent (dropping it cancels the read).
    next: Option<RemoteHandle<Page>>,
    /// A read failed: the stream ends once what was written before is sent.
    failed: bool,
    last_sent: Instant,
    /// When the stream ends anyway (`ANNALS_EVENTS_MAX_STREAM_S`).
    deadline: Instant,
}

impl Cursor {
    /// Starts reading the page after `after` in the background.
    fn read_ahead(&mut self, after: u64) {
        let (store, filter, limit) = (self.state.store.clone(), self.filter.clone(), self.limit);
        let (read, handle) =
            async move { store.read_all_raw(after, limit, &filter).await }.remote_handle();
        tokio::spawn(read);
        self.next = Some(handle);
    }

    /// Whether the caller sees `event`, or None when its standing could not be read.
    async fn wanted(&mut self, event: &RawRecordedEvent, meta: &EventMeta<'_>) -> Option<bool> {
        if self.sees_all {
            return Some(true);
        }
        let scope = meta.scope();
        if !self.selector.matches(&event.event_type, scope) {
            return Some(false);
        }
        match self.visibility.may_see(scope.namespace_id).await {
            Ok(seen) => Some(seen),
            Err(e) => {
                tracing::warn!("event stream: reading a standing: {e}");
                None
            }
        }
    }

    /// Appends `event`, framed, to `out`.
    fn write(&self, event: &RawRecordedEvent, meta: &EventMeta<'_>, out: &mut Vec<u8>) {
        let prefix = &self.state.events.source_prefix;
        match self.format {
            Format::NdJson => {
                cloudevent::write_json(event, meta, prefix, out);
                out.push(b'\n');
            }
            Format::Sse => {
                // Writing to a Vec cannot fail.
                let _ = write!(out, "id: {}\ndata: ", event.position);
                cloudevent::write_json(event, meta, prefix, out);
                out.extend_from_slice(b"\n\n");
            }
        }
    }

    /// The next chunk to send (the visible events of a page, or a keep-alive), or None at the
    /// end (the head without `follow`, the deadline, or a failed read).
    async fn next(&mut self) -> Option<Bytes> {
        let keepalive = self.state.events.keepalive;
        loop {
            if self.failed || Instant::now() >= self.deadline {
                return None;
            }
            if self.last_sent.elapsed() >= keepalive {
                self.last_sent = Instant::now();
                return Some(self.format.keepalive());
            }
            let page = match self.next.take() {
                Some(ahead) => ahead.await,
                None => {
                    self.state
                        .store
                        .read_all_raw(self.after, self.limit, &self.filter)
                        .await
                }
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("event stream: reading the log: {e}");
                    return None;
                }
            };
            let Some(last) = page.last().map(|e| e.position) else {
                if !self.follow {
                    return None;
                }
                self.limit = PAGE;
                let wait = keepalive
                    .saturating_sub(self.last_sent.elapsed())
                    .min(self.deadline.saturating_duration_since(Instant::now()))
                    .min(WAIT_SLICE);
                let _ = tokio::time::timeout(wait, self.state.store.wait_for_new(self.after)).await;
                continue;
            };
            if page.len() >= self.limit {
                // Catching up: there is more behind this page, so read it while this one is sent.
                self.limit = (self.limit * 2).min(MAX_PAGE);
                self.read_ahead(last);
            } else {
                self.limit = PAGE;
            }
            let mut out = Vec::new();
            for event in &page {
                let meta = EventMeta::parse(&event.metadata);
                match self.wanted(event, &meta).await {
                    Some(true) => self.write(event, &meta, &mut out),
                    Some(false) => {}
                    None => {
                        self.failed = true;
                        self.next = None;
                        break;
                    }
                }
                self.after = event.position;
            }
            if !out.is_empty() {
                self.last_sent = Instant::now();
                return Some(Bytes::from(out));
            }
        }
    }
}

/// The chunks of a stream, produced as they are pulled.
fn chunks(
    state: AppState,
    visibility: Visibility,
    request: StreamRequest,
    format: Format,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let deadline = Instant::now() + state.events.max_stream;
    let sees_all =
        visibility.caller().acts_as_super_user() && request.selector == Selector::default();
    let cursor = Cursor {
        deadline,
        filter: EventFilter {
            stream_prefixes: Vec::new(),
            event_types: request.selector.types.clone(),
        },
        state,
        visibility,
        selector: request.selector,
        sees_all,
        format,
        after: request.after,
        follow: request.follow,
        limit: PAGE,
        next: None,
        failed: false,
        last_sent: Instant::now(),
    };
    futures::stream::unfold(cursor, |mut cursor| async move {
        cursor.next().await.map(|chunk| (Ok(chunk), cursor))
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
    let (format, content_type) = if wants_sse(&parts.headers) {
        (Format::Sse, "text/event-stream")
    } else {
        (Format::NdJson, "application/x-ndjson")
    };
    let chunks = chunks(state, visibility, request, format);
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}
