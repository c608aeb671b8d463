//! How domain events are stored: a type name plus a JSON body. Old versions are upcast on read,
//! never rewritten, so the log stays exactly as it was appended.

use serde_json::Value;

use crate::event::DomainEvent;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot decode event of type {event_type}: {reason}")]
pub struct DecodeError {
    pub event_type: String,
    pub reason: String,
}

/// The stored form of an event: its type name and its data.
pub fn encode(event: &DomainEvent) -> (&'static str, Value) {
    let data = match serde_json::to_value(event) {
        Ok(Value::Object(mut tagged)) => tagged.remove("data").unwrap_or(Value::Null),
        // DomainEvent always serializes to a tagged object; anything else is a bug in its derive.
        _ => Value::Null,
    };
    (event.event_type(), data)
}

/// Rewrites an older version of an event into the current one. Each entry maps an old type name
/// to the function that returns the newer type name and data; they chain until no entry applies.
/// No event has changed shape yet, so the table is empty: a `.v2` adds its `.v1` upcaster here.
type Upcaster = fn(Value) -> (&'static str, Value);
const UPCASTERS: &[(&str, Upcaster)] = &[];

/// The domain event for a stored type and body, upcast to the current version.
pub fn decode(event_type: &str, data: &Value) -> Result<DomainEvent, DecodeError> {
    decode_owned(event_type, data.clone())
}

/// [`decode`] for a body the caller no longer needs: nothing is copied.
pub fn decode_owned(event_type: &str, data: Value) -> Result<DomainEvent, DecodeError> {
    let (mut event_type, mut data) = (event_type.to_owned(), data);
    while let Some((_, upcast)) = UPCASTERS.iter().find(|(from, _)| *from == event_type) {
        let (next, next_data) = upcast(data);
        event_type = next.to_owned();
        data = next_data;
    }
    // The tag first, then the body: the adjacently tagged enum then reads the body straight
    // into its variant. (A JSON object would put `data` first, and serde would buffer the whole
    // body before it knew the variant.)
    let tagged = [("type", Value::String(event_type.clone())), ("data", data)];
    let result: Result<DomainEvent, serde_json::Error> =
        serde::Deserialize::deserialize(serde::de::value::MapDeserializer::new(tagged.into_iter()));
    result.map_err(|e| DecodeError {
        event_type,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::NamespaceName;
    use uuid::Uuid;

    #[test]
    fn round_trip() {
        let event = DomainEvent::OrganizationCreated {
            organization_id: Uuid::new_v4(),
            name: NamespaceName::parse("acme").unwrap(),
            email: None,
        };
        let (t, data) = encode(&event);
        assert_eq!(t, "organization.created.v1");
        assert_eq!(data["name"], "acme");
        assert_eq!(decode(t, &data).unwrap(), event);
    }

    #[test]
    fn invalid_stored_names_do_not_decode() {
        let data =
            serde_json::json!({"organization_id": Uuid::nil(), "name": "NOT VALID", "email": null});
        assert!(decode("organization.created.v1", &data).is_err());
        assert!(decode("no.such.v1", &data).is_err());
    }
}
