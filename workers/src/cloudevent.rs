//! A recorded event as a CloudEvents 1.0 event in the JSON format (structured mode), the one
//! shape the event stream, webhooks and the NATS relay send.
//!
//! - `id`: the event's id (UUID v7), so consumers de-duplicate on it.
//! - `source`: `<prefix>/<stream>` (`ANNALS_EVENTS_SOURCE`, default `/annals`): the aggregate
//!   stream the event belongs to, under a name for this Annals instance.
//! - `type`: the stored type (`repository.created.v1`); `subject`: `namespace/repository`, or
//!   the namespace, when the metadata names them; `time`: when it was recorded (RFC 3339, UTC).
//! - Extension attributes (lowercase alphanumeric names, as CloudEvents requires): `position`
//!   (the global position, a decimal string because CloudEvents integers are 32-bit), `stream`,
//!   `actor` (the actor's name) and `actorkind` (`user`, `robot`, `token`, `system`).

use annals_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The default `source` prefix.
pub const DEFAULT_SOURCE: &str = "/annals";

/// A CloudEvents 1.0 event (JSON format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CloudEvent {
    /// Always `1.0`.
    pub specversion: String,
    /// The event's id (UUID v7).
    pub id: String,
    /// `<instance prefix>/<stream>`.
    pub source: String,
    /// The event type, e.g. `repository.created.v1`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `namespace/repository` or `namespace`, when the event concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When the event was recorded (RFC 3339, UTC, microseconds).
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The event's data, as stored.
    #[schema(value_type = Object)]
    pub data: Value,
    /// The event's global position in the log (decimal).
    pub position: String,
    /// The aggregate stream it was appended to.
    pub stream: String,
    /// Who caused it (user or robot name, `annals` for the system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// `user`, `robot`, `token` or `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actorkind: Option<String>,
}

fn meta_str<'a>(event: &'a RecordedEvent, pointer: &str) -> Option<&'a str> {
    event.metadata.pointer(pointer).and_then(Value::as_str)
}

/// The namespace id, namespace and repository an event's metadata names.
pub fn scope(event: &RecordedEvent) -> annals_domain::event_subscription::EventScope<'_> {
    annals_domain::event_subscription::EventScope {
        namespace_id: meta_str(event, "/namespace_id").and_then(|s| s.parse().ok()),
        namespace: meta_str(event, "/namespace"),
        repository: meta_str(event, "/repository"),
    }
}

impl CloudEvent {
    /// `event` as a CloudEvent whose source starts with `source_prefix`.
    pub fn from_recorded(event: &RecordedEvent, source_prefix: &str) -> Self {
        let scope = scope(event);
        let subject = match (scope.namespace, scope.repository) {
            (Some(ns), Some(repo)) => Some(format!("{ns}/{repo}")),
            (Some(ns), None) => Some(ns.to_owned()),
            _ => None,
        };
        CloudEvent {
            specversion: "1.0".into(),
            id: event.id.to_string(),
            source: format!("{}/{}", source_prefix.trim_end_matches('/'), event.stream),
            event_type: event.event_type.clone(),
            subject,
            time: event
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            datacontenttype: "application/json".into(),
            data: event.data.clone(),
            position: event.position.to_string(),
            stream: event.stream.clone(),
            actor: meta_str(event, "/actor/name").map(str::to_owned),
            actorkind: meta_str(event, "/actor/kind").map(str::to_owned),
        }
    }
}

/// A CloudEvent borrowed from its recorded event: what [`write_json`] serializes. Its fields
/// are [`CloudEvent`]'s, in the same order, so both write the same JSON.
#[derive(Serialize)]
struct Borrowed<'a> {
    specversion: &'static str,
    id: &'a uuid::Uuid,
    source: Joined<'a>,
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Joined<'a>>,
    time: String,
    datacontenttype: &'static str,
    data: &'a Value,
    #[serde(serialize_with = "decimal")]
    position: u64,
    stream: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actorkind: Option<&'a str>,
}

/// `first/second`, or `first` alone, written into the JSON string without a `String` of its own.
struct Joined<'a>(&'a str, Option<&'a str>);

impl Serialize for Joined<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Some(second) => serializer.collect_str(&format_args!("{}/{second}", self.0)),
            None => serializer.serialize_str(self.0),
        }
    }
}

fn decimal<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Appends `event` as the JSON of its CloudEvent (what `serde_json::to_writer` writes for
/// [`CloudEvent::from_recorded`]) to `out`, without building the CloudEvent: the event stream
/// writes many of them, each straight into its output buffer.
pub fn write_json(event: &RecordedEvent, source_prefix: &str, out: &mut Vec<u8>) {
    let scope = scope(event);
    let borrowed = Borrowed {
        specversion: "1.0",
        id: &event.id,
        source: Joined(source_prefix.trim_end_matches('/'), Some(&event.stream)),
        event_type: &event.event_type,
        subject: scope.namespace.map(|ns| Joined(ns, scope.repository)),
        time: event
            .recorded_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        datacontenttype: "application/json",
        data: &event.data,
        position: event.position,
        stream: &event.stream,
        actor: meta_str(event, "/actor/name"),
        actorkind: meta_str(event, "/actor/kind"),
    };
    // Writing to a Vec fails only if a map has non-string keys, which a `Value` cannot have.
    let _ = serde_json::to_writer(out, &borrowed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_json_is_the_cloudevent() {
        let recorded = |metadata: Value, prefix: &str| {
            let event = RecordedEvent {
                id: uuid::Uuid::now_v7(),
                stream: "repository-1".into(),
                version: 3,
                position: 9_000_000_000,
                event_type: "repository.created.v1".into(),
                data: serde_json::json!({"name": "we\"b", "n": [1, 2.5, null], "u": "é\u{1}"}),
                metadata,
                recorded_at: chrono::DateTime::from_timestamp_micros(1_700_000_000_000_001)
                    .unwrap(),
            };
            let mut written = Vec::new();
            write_json(&event, prefix, &mut written);
            let expected = serde_json::to_vec(&CloudEvent::from_recorded(&event, prefix)).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        };
        recorded(
            serde_json::json!({"actor": {"kind": "robot", "name": "o+r"}, "namespace": "acme", "repository": "web"}),
            "/annals/",
        );
        recorded(serde_json::json!({"namespace": "a\"cme"}), "/x");
        recorded(
            serde_json::json!({"repository": "web", "actor": {"kind": 3}}),
            "",
        );
        recorded(serde_json::json!(null), "/annals");
    }

    #[test]
    fn maps_the_recorded_event() {
        let event = RecordedEvent {
            id: uuid::Uuid::from_u128(9),
            stream: "repository-1".into(),
            version: 0,
            position: 42,
            event_type: "repository.created.v1".into(),
            data: serde_json::json!({"name": "web"}),
            metadata: serde_json::json!({
                "actor": {"kind": "user", "name": "alice"},
                "namespace": "acme", "repository": "web",
            }),
            recorded_at: chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
        };
        let ce = CloudEvent::from_recorded(&event, "/annals/");
        let json = serde_json::to_value(&ce).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["source"], "/annals/repository-1");
        assert_eq!(json["type"], "repository.created.v1");
        assert_eq!(json["subject"], "acme/web");
        assert_eq!(json["time"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(json["position"], "42");
        assert_eq!(json["actor"], "alice");
        assert_eq!(json["actorkind"], "user");
        // Extension names are lowercase alphanumeric, as CloudEvents requires.
        for key in json.as_object().unwrap().keys() {
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{key}"
            );
        }
    }
}
