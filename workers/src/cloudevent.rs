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

use std::borrow::Cow;

use annals_store::{RawRecordedEvent, RecordedEvent};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

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
    data: Option<&'a RawValue>,
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

/// Appends `event`, read as text with its metadata `meta`, as the JSON of its CloudEvent (what
/// `serde_json::to_writer` writes for [`CloudEvent::from_recorded`], with `data` as stored) to
/// `out`, without building the CloudEvent or parsing `data` into a tree: the event stream
/// writes many of them, each straight into its output buffer.
pub fn write_json(
    event: &RawRecordedEvent,
    meta: &EventMeta<'_>,
    source_prefix: &str,
    out: &mut Vec<u8>,
) {
    let scope = meta.scope();
    // Stored data is JSON; should it not be (a tampered row), it is sent as `null`.
    let data: Option<&RawValue> = serde_json::from_str(&event.data).ok();
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
        data,
        position: event.position,
        stream: &event.stream,
        actor: meta.actor_name.as_deref(),
        actorkind: meta.actor_kind.as_deref(),
    };
    // Writing to a Vec fails only if a map has non-string keys, which none here has.
    let _ = serde_json::to_writer(out, &borrowed);
}

/// What a CloudEvent and its filters read of an event's metadata, borrowed from the stored
/// text where a string has no escapes. A key of another shape than Annals writes (a number
/// where a name belongs) is absent, as [`scope`] leaves it over a parsed event; metadata that
/// is not an object at all names nothing.
#[derive(Debug, Default, PartialEq)]
pub struct EventMeta<'a> {
    pub namespace_id: Option<Cow<'a, str>>,
    pub namespace: Option<Cow<'a, str>>,
    pub repository: Option<Cow<'a, str>>,
    pub actor_name: Option<Cow<'a, str>>,
    pub actor_kind: Option<Cow<'a, str>>,
}

impl<'a> EventMeta<'a> {
    /// Reads the stored metadata text.
    pub fn parse(text: &'a str) -> Self {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde::Deserializer::deserialize_any(&mut de, MetaVisitor { actor: false }) {
            Ok(meta) if de.end().is_ok() => meta,
            _ => EventMeta::default(),
        }
    }

    /// The namespace id, namespace and repository it names.
    pub fn scope(&self) -> annals_domain::event_subscription::EventScope<'_> {
        annals_domain::event_subscription::EventScope {
            namespace_id: self.namespace_id.as_deref().and_then(|s| s.parse().ok()),
            namespace: self.namespace.as_deref(),
            repository: self.repository.as_deref(),
        }
    }
}

/// Reads the metadata object, or (with `actor`) its `actor` object, into an [`EventMeta`].
struct MetaVisitor {
    actor: bool,
}

impl<'de> Visitor<'de> for MetaVisitor {
    type Value = EventMeta<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("event metadata")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut meta = EventMeta::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let slot = match (self.actor, key.as_ref()) {
                (false, "namespace_id") => &mut meta.namespace_id,
                (false, "namespace") => &mut meta.namespace,
                (false, "repository") => &mut meta.repository,
                (false, "actor") => {
                    let actor = map.next_value_seed(AnyShape(MetaVisitor { actor: true }))?;
                    meta.actor_name = actor.actor_name;
                    meta.actor_kind = actor.actor_kind;
                    continue;
                }
                (true, "name") => &mut meta.actor_name,
                (true, "kind") => &mut meta.actor_kind,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            // The last of repeated keys wins, as in a parsed object.
            *slot = map.next_value_seed(AnyShape(TextVisitor))?;
        }
        Ok(meta)
    }

    // Anything but an object names nothing.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| EventMeta::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(EventMeta::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(EventMeta::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(EventMeta::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(EventMeta::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(EventMeta::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(EventMeta::default())
    }
}

/// A string, borrowed when it has no escapes; any other value is read past and is `None`.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(s.to_owned())))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Hands a visitor whatever value comes next (`deserialize_any`).
struct AnyShape<V>(V);

impl<'de, V: Visitor<'de>> de::DeserializeSeed<'de> for AnyShape<V> {
    type Value = V::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0)
    }
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
            let raw = RawRecordedEvent::from(event.clone());
            write_json(&raw, &EventMeta::parse(&raw.metadata), prefix, &mut written);
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

    #[test]
    fn metadata_text_names_what_the_parsed_metadata_names() {
        let shapes = [
            serde_json::json!({"actor": {"kind": "user", "name": "al\"ice", "id": "x"},
                "namespace_id": "7f1c2a4e-3b5d-4c6e-8f90-123456789abc", "namespace": "acme",
                "repository": "web", "client_ip": "::1"}),
            serde_json::json!({"actor": "nobody", "namespace": 3, "repository": ["web"]}),
            serde_json::json!({"actor": {"kind": 3, "name": null}}),
            serde_json::json!([1, 2]),
            serde_json::json!("text"),
            serde_json::json!(null),
        ];
        for metadata in shapes {
            let event = RecordedEvent {
                id: uuid::Uuid::from_u128(1),
                stream: "s-1".into(),
                version: 0,
                position: 1,
                event_type: "t.v1".into(),
                data: serde_json::json!({}),
                metadata: metadata.clone(),
                recorded_at: chrono::DateTime::from_timestamp_micros(0).unwrap(),
            };
            // Compact (SQLite) and spaced (JSONB) text alike.
            for text in [
                metadata.to_string(),
                serde_json::to_string_pretty(&metadata).unwrap(),
            ] {
                let meta = EventMeta::parse(&text);
                assert_eq!(meta.scope(), scope(&event), "{text}");
                assert_eq!(meta.actor_name.as_deref(), meta_str(&event, "/actor/name"));
                assert_eq!(meta.actor_kind.as_deref(), meta_str(&event, "/actor/kind"));
            }
        }
        // Repeated keys: the last wins, as in a parsed object. Not JSON: nothing.
        assert_eq!(
            EventMeta::parse(r#"{"namespace":"a","namespace":"b"}"#)
                .namespace
                .as_deref(),
            Some("b")
        );
        assert_eq!(EventMeta::parse("{not json"), EventMeta::default());
    }
}
