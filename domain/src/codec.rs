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

/// [`decode`] of a body given as its stored JSON text: read straight into the event, with no
/// `serde_json::Value` in between (replay decodes every event of the log this way).
pub fn decode_str(event_type: &str, data: &str) -> Result<DomainEvent, DecodeError> {
    let failed = |e: serde_json::Error| DecodeError {
        event_type: event_type.to_owned(),
        reason: e.to_string(),
    };
    if UPCASTERS.iter().any(|(from, _)| *from == event_type) {
        return decode_owned(event_type, serde_json::from_str(data).map_err(failed)?);
    }
    let mut body = serde_json::Deserializer::from_str(data);
    let tagged = Tagged {
        event_type,
        body: &mut body,
        step: 0,
    };
    let event: DomainEvent =
        serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(tagged))
            .map_err(failed)?;
    body.end().map_err(failed)?;
    Ok(event)
}

/// The adjacently tagged form `{"type": <event_type>, "data": <body>}`, tag first, with the
/// body read from its text as the variant asks for it.
struct Tagged<'a, 'de> {
    event_type: &'a str,
    body: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    step: u8,
}

impl<'de> serde::de::MapAccess<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let key = match self.step {
            0 => "type",
            1 => "data",
            _ => return Ok(None),
        };
        seed.deserialize(serde::de::value::StrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.step += 1;
        if self.step == 1 {
            seed.deserialize(serde::de::value::StrDeserializer::new(self.event_type))
        } else {
            seed.deserialize(&mut *self.body)
        }
    }
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
        let text = data.to_string();
        assert!(decode_str("organization.created.v1", &text).is_err());
        assert!(decode_str("no.such.v1", &text).is_err());
    }

    #[test]
    fn text_decodes_as_the_value_does() {
        let event = DomainEvent::OrganizationCreated {
            organization_id: Uuid::new_v4(),
            name: NamespaceName::parse("acme").unwrap(),
            email: Some(crate::names::Email::parse("a@example.com").unwrap()),
        };
        let (t, data) = encode(&event);
        assert_eq!(decode_str(t, &data.to_string()).unwrap(), event);
        // JSONB's output form, with spaces and its own key order.
        let spaced = serde_json::to_string_pretty(&data).unwrap();
        assert_eq!(decode_str(t, &spaced).unwrap(), event);
        // Trailing text after the body and a truncated body are refused.
        assert!(decode_str(t, &format!("{data} {{}}")).is_err());
        let text = data.to_string();
        assert!(decode_str(t, &text[..text.len() - 1]).is_err());
    }
}
