//! What a projector reads of a stored event besides its decoded body: its position, its time,
//! and the few metadata keys read models keep. Replay reads these straight from the stored
//! JSON text ([`decode_raw`]), so no `serde_json::Value` tree is built per event.

use annals_domain::{DomainEvent, codec};
use annals_store::{RawRecordedEvent, RecordedEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A stored event's envelope, as projectors see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    pub position: u64,
    pub recorded_at: DateTime<Utc>,
    pub meta: LogMeta,
}

/// The metadata keys read models keep (`commands/src/metadata.rs` writes them); the others
/// (client, request ids) stay in the log, read from the event itself.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LogMeta {
    #[serde(default)]
    pub actor: Option<LogActor>,
    #[serde(default)]
    pub namespace_id: Option<String>,
    #[serde(default)]
    pub repository_id: Option<String>,
    #[serde(default)]
    pub command_id: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// Who issued the command, as the metadata records it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct LogActor {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl LogMeta {
    /// The actor as JSON (`{"kind","name","id"}`), or an empty string without one.
    pub fn actor_json(&self) -> String {
        self.actor
            .as_ref()
            .and_then(|a| serde_json::to_string(a).ok())
            .unwrap_or_default()
    }
}

/// A stored event decoded for projectors: the envelope, and the body unless this build does
/// not know the event (written by a newer one; no read model of this build has a place for it).
pub type Decoded = (Recorded, Option<DomainEvent>);

/// Decodes an event read as text.
pub fn decode_raw(event: &RawRecordedEvent) -> Decoded {
    let meta = serde_json::from_str(&event.metadata)
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| unreadable_meta(event.position, &e));
    let recorded = Recorded {
        position: event.position,
        recorded_at: event.recorded_at,
        meta,
    };
    let body = codec::decode_str(&event.event_type, &event.data);
    (recorded, known(event.position, body))
}

/// Decodes an event read parsed; its body is moved into the decoder, not copied.
pub fn decode_recorded(mut event: RecordedEvent) -> Decoded {
    let meta = LogMeta::deserialize(&event.metadata)
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| unreadable_meta(event.position, &e));
    let recorded = Recorded {
        position: event.position,
        recorded_at: event.recorded_at,
        meta,
    };
    let body = codec::decode_owned(&event.event_type, std::mem::take(&mut event.data));
    (recorded, known(event.position, body))
}

fn unreadable_meta(position: u64, error: &str) -> LogMeta {
    tracing::warn!(
        position,
        "event metadata not in the expected shape: {error}"
    );
    LogMeta::default()
}

fn known(position: u64, body: Result<DomainEvent, codec::DecodeError>) -> Option<DomainEvent> {
    body.inspect_err(|e| tracing::warn!(position, "skipping undecodable event: {e}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn stored(metadata: serde_json::Value) -> RecordedEvent {
        let (event_type, data) = codec::encode(&DomainEvent::OrganizationDeleted {
            organization_id: Uuid::nil(),
            name: annals_domain::NamespaceName::parse("acme").unwrap(),
        });
        RecordedEvent {
            id: Uuid::nil(),
            stream: "organization-0".into(),
            version: 1,
            position: 7,
            event_type: event_type.into(),
            data,
            metadata,
            recorded_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap(),
        }
    }

    #[test]
    fn text_and_parsed_reads_decode_alike() {
        let event = stored(json!({
            "actor": {"kind": "user", "name": "ann", "id": "4a0c"},
            "client_ip": "127.0.0.1",
            "namespace_id": "n1",
            "namespace": "acme",
            "command_id": "c1",
        }));
        let (recorded, body) = decode_raw(&RawRecordedEvent::from(event.clone()));
        assert_eq!((recorded.clone(), body.clone()), decode_recorded(event));
        assert!(body.is_some());
        assert_eq!(recorded.position, 7);
        assert_eq!(recorded.meta.namespace_id.as_deref(), Some("n1"));
        assert_eq!(recorded.meta.repository_id, None);
        assert_eq!(recorded.meta.command_id.as_deref(), Some("c1"));
        assert_eq!(
            recorded.meta.actor_json(),
            r#"{"kind":"user","name":"ann","id":"4a0c"}"#
        );
    }

    #[test]
    fn a_bad_envelope_or_body_is_tolerated() {
        let mut event = stored(json!({"namespace_id": 12}));
        event.event_type = "no.such.v9".into();
        let (recorded, body) = decode_raw(&RawRecordedEvent::from(event.clone()));
        assert_eq!(recorded.meta, LogMeta::default());
        assert_eq!(body, None);
        assert_eq!(decode_recorded(event).0.meta, LogMeta::default());
    }
}
