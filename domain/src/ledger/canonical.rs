//! The canonical bytes of a stored event: what a ledger leaf commits to.
//!
//! Encoding `v1` (stable; a change is a new version byte, never an edit):
//!
//! | field | bytes |
//! | --- | --- |
//! | format version | `0x01` |
//! | id | 16 bytes, the UUID's big-endian bytes |
//! | position | u64 big-endian |
//! | stream | u32 big-endian length, UTF-8 |
//! | version | u64 big-endian (the stream version, 0 for a stream's first event) |
//! | type | u32 big-endian length, UTF-8 |
//! | recorded time | i64 big-endian, microseconds since the Unix epoch (UTC) |
//! | data | u32 big-endian length, RFC 8785 canonical JSON |
//! | metadata | u32 big-endian length, RFC 8785 canonical JSON |
//!
//! Both backends keep microseconds (SQLite an INTEGER, PostgreSQL a TIMESTAMPTZ), and JSON is
//! re-serialized canonically (keys sorted by UTF-16 code units, no whitespace, minimal string
//! escapes, numbers in ECMAScript form), so SQLite's TEXT and PostgreSQL's JSONB (which reorders
//! keys and may reformat numbers) give the same bytes for the same event. One deviation from
//! RFC 8785: integers that serde reads as 64-bit integers are written exactly, not rounded
//! through an IEEE 754 double (Annals writes sizes and counts that may exceed 2^53).

use std::io::Write;

use serde_json::Value;
use uuid::Uuid;

/// The format version byte of the encoding above.
pub const FORMAT_V1: u8 = 1;

/// The fields of a stored event a leaf covers (everything the store keeps of it).
#[derive(Debug, Clone, Copy)]
pub struct LeafEvent<'a> {
    pub id: Uuid,
    pub stream: &'a str,
    pub version: u64,
    pub position: u64,
    pub event_type: &'a str,
    pub data: &'a Value,
    pub metadata: &'a Value,
    /// Microseconds since the Unix epoch, UTC.
    pub recorded_at_micros: i64,
}

/// Appends the canonical bytes of `event` to `out`.
pub fn encode_leaf_into(event: &LeafEvent<'_>, out: &mut Vec<u8>) {
    out.push(FORMAT_V1);
    out.extend_from_slice(event.id.as_bytes());
    out.extend_from_slice(&event.position.to_be_bytes());
    put_bytes(out, event.stream.as_bytes());
    out.extend_from_slice(&event.version.to_be_bytes());
    put_bytes(out, event.event_type.as_bytes());
    out.extend_from_slice(&event.recorded_at_micros.to_be_bytes());
    put_json(out, event.data);
    put_json(out, event.metadata);
}

/// The canonical bytes of `event`.
pub fn encode_leaf(event: &LeafEvent<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_leaf_into(event, &mut out);
    out
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_json(out: &mut Vec<u8>, value: &Value) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write_json(out, value);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// RFC 8785 canonical JSON of `value` (see the module note on integers).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // `write!` into the Vec formats in place: no String per number.
            if let Some(i) = n.as_u64() {
                let _ = write!(out, "{i}");
            } else if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else {
                out.extend_from_slice(es_number(n.as_f64().unwrap_or(0.0)).as_bytes());
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            if keys_in_utf16_order(map) {
                // The common case (serde_json's map iterates in byte order): no list to sort.
                write_entries(out, map.iter());
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                write_entries(out, entries.into_iter());
            }
            out.push(b'}');
        }
    }
}

/// Whether the map already iterates in RFC 8785 order. Byte order agrees with UTF-16 order
/// unless a key has a character above U+FFFF (a 4-byte UTF-8 sequence, lead byte 0xF0..).
fn keys_in_utf16_order(map: &serde_json::Map<String, Value>) -> bool {
    !map.keys().any(|k| k.bytes().any(|b| b >= 0xF0)) && map.keys().is_sorted()
}

fn write_entries<'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a String, &'a Value)>) {
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        write_json(out, item);
    }
}

/// Whether JSON escapes byte `b` of a UTF-8 string.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most strings need no escape: one branch-free (vectorizable) scan, then one copy.
    if !bytes.iter().fold(false, |any, &b| any | needs_escape(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0a => Some(b"\\n"),
            0x0c => Some(b"\\f"),
            0x0d => Some(b"\\r"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// ECMAScript's `Number.prototype.toString` of a finite double (RFC 8785 §3.2.2.3).
fn es_number(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return "0".into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest digits that round-trip, as ECMAScript requires.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, 2.5, "x"], "a": {"d": null, "c": true} }"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"a":{"c":true,"d":null},"b":[1,2.5,"x"]}"#
        );
    }

    #[test]
    fn strings_use_minimal_escapes() {
        let v = json!("a\"b\\c\n\u{1}\u{7f}é€😀/");
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é€😀/\""
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3's example: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
        let v = json!({"\u{fb33}": 1, "\u{1f600}": 2, "a": 3});
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            "{\"a\":3,\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn numbers_in_ecmascript_form() {
        // From RFC 8785 appendix B.
        for (f, s) in [
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (4.5e-7, "4.5e-7"),
            (333333333.3333333, "333333333.3333333"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740994.0, "9007199254740994"),
            (295147905179352830000.0, "295147905179352830000"),
            (-0.0, "0"),
        ] {
            assert_eq!(es_number(f), s, "{f:e}");
        }
        // The same value read from JSONB's numeric text or SQLite's text gives the same bytes.
        let a: Value = serde_json::from_str(r#"{"n": 1.50, "m": 100}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"m":100,"n":1.5}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&json!(u64::MAX)), b"18446744073709551615");
        assert_eq!(canonical_json(&json!(i64::MIN)), b"-9223372036854775808");
    }

    #[test]
    fn leaf_bytes_are_length_prefixed_fields() {
        let data = json!({"b": 1, "a": "x"});
        let metadata = json!({});
        let id = Uuid::from_u128(0x0102030405060708090a0b0c0d0e0f10);
        let bytes = encode_leaf(&LeafEvent {
            id,
            stream: "s-1",
            version: 2,
            position: 7,
            event_type: "t.v1",
            data: &data,
            metadata: &metadata,
            recorded_at_micros: 1_700_000_000_000_001,
        });
        let mut expected = vec![1u8];
        expected.extend_from_slice(id.as_bytes());
        expected.extend_from_slice(&7u64.to_be_bytes());
        expected.extend_from_slice(&3u32.to_be_bytes());
        expected.extend_from_slice(b"s-1");
        expected.extend_from_slice(&2u64.to_be_bytes());
        expected.extend_from_slice(&4u32.to_be_bytes());
        expected.extend_from_slice(b"t.v1");
        expected.extend_from_slice(&1_700_000_000_000_001i64.to_be_bytes());
        expected.extend_from_slice(&15u32.to_be_bytes());
        expected.extend_from_slice(br#"{"a":"x","b":1}"#);
        expected.extend_from_slice(&2u32.to_be_bytes());
        expected.extend_from_slice(b"{}");
        assert_eq!(bytes, expected);
    }
}
