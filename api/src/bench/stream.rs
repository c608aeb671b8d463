//! Event-stream figure: one consumer reading a log of `events` events through
//! `GET /events/v1/stream?follow=false` on a real server, as NDJSON and as Server-Sent Events.

use std::time::Instant;

use annals_projections::all_projectors;
use annals_workers::replay;
use serde::Deserialize;

use super::table::Table;
use super::{Target, events, http};
use crate::backends;

/// What the consumer reads of each event; deserializing it still checks the whole line is JSON.
#[derive(Deserialize)]
struct Positioned {
    position: String,
}

/// What one read of the whole log saw.
struct Read {
    events: u64,
    bytes: u64,
    seconds: f64,
}

/// Checks one event's JSON and that its position follows `last`; returns the position.
fn check(json: &[u8], last: u64, id: Option<&[u8]>) -> anyhow::Result<u64> {
    let event: Positioned = serde_json::from_slice(json.trim_ascii())?;
    let position: u64 = event.position.parse()?;
    anyhow::ensure!(
        position > last,
        "position {position} came after {last} in the stream"
    );
    if let Some(id) = id {
        anyhow::ensure!(
            id == event.position.as_bytes(),
            "SSE id {:?} is not the position {position}",
            String::from_utf8_lossy(id)
        );
    }
    Ok(position)
}

/// Reads the whole stream as one consumer, checking every event as it arrives.
async fn read(running: &http::Running, sse: bool) -> anyhow::Result<Read> {
    let mut request = running
        .client
        .get(format!("{}/events/v1/stream?follow=false", running.base))
        .bearer_auth(http::BENCH_TOKEN);
    if sse {
        request = request.header("accept", "text/event-stream");
    }
    let started = Instant::now();
    let mut response = request.send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "the stream answered {}",
        response.status()
    );
    // NDJSON: one event a line. SSE: `id:` and `data:` lines, an empty line ending each event.
    let (mut pending, mut events, mut bytes, mut last) = (Vec::<u8>::new(), 0u64, 0u64, 0u64);
    let (mut id, mut data) = (Vec::<u8>::new(), None::<Vec<u8>>);
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(at) = pending[start..].iter().position(|b| *b == b'\n') {
            let line = start..start + at;
            start += at + 1;
            if !sse {
                if !line.is_empty() {
                    last = check(&pending[line], last, None)?;
                    events += 1;
                }
            } else if line.is_empty() {
                if let Some(data) = data.take() {
                    last = check(&data, last, Some(&id))?;
                    events += 1;
                }
            } else if let Some(v) = pending[line.clone()].strip_prefix(b"id:") {
                id = v.trim_ascii().to_vec();
            } else if let Some(v) = pending[line].strip_prefix(b"data:") {
                data = Some(v.to_vec());
            }
        }
        pending.drain(..start);
    }
    anyhow::ensure!(
        pending.iter().all(u8::is_ascii_whitespace),
        "the stream ended inside an event"
    );
    Ok(Read {
        events,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

pub async fn measure(postgres: Option<&str>, events: u64, table: &mut Table) -> anyhow::Result<()> {
    let target = Target::create(postgres).await?;
    // The superuser is bootstrapped on the empty log (bootstrap only runs on a first start).
    http::serve(&target).await?.stop().await?;
    {
        let backends = backends::open(&target.storage()).await?;
        eprintln!("  filling a {} log with {events} events...", target.label());
        events::fill(backends.store.as_ref(), events).await?;
        // Projected in bulk first, so the server starts at the head instead of catching up.
        replay::replay(
            backends.store.clone(),
            &backends.location,
            all_projectors(),
            false,
        )
        .await?;
    }
    let running = http::serve(&target).await?;
    for (format, sse) in [("NDJSON", false), ("SSE", true)] {
        let read = read(&running, sse).await?;
        anyhow::ensure!(
            read.events >= events,
            "the {format} stream held {} of the {events} events",
            read.events
        );
        table.row(vec![
            target.label().into(),
            format.into(),
            read.events.to_string(),
            format!("{:.2}", read.seconds),
            format!("{:.0}", read.events as f64 / read.seconds),
            format!("{:.1}", read.bytes as f64 / read.seconds / 1e6),
        ]);
    }
    running.stop().await?;
    target.drop().await
}
