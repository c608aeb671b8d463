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
    pub data: Json<'a>,
    pub metadata: Json<'a>,
    /// Microseconds since the Unix epoch, UTC.
    pub recorded_at_micros: i64,
}

/// A JSON value as parsed, or as the store's text.
#[derive(Debug, Clone, Copy)]
pub enum Json<'a> {
    Parsed(&'a Value),
    /// Text that is already canonical (what SQLite keeps) is copied as it is; other text
    /// (JSONB's output form) is parsed and written canonically. Text that is not JSON at all
    /// is committed to as its bytes, so it can only ever differ from what was signed.
    Text(&'a str),
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

fn put_json(out: &mut Vec<u8>, json: Json<'_>) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    match json {
        Json::Parsed(value) => write_json(out, value),
        Json::Text(text) if is_canonical(text.as_bytes()) => out.extend_from_slice(text.as_bytes()),
        Json::Text(text) if rewrite(text.as_bytes(), out) => {}
        Json::Text(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => write_json(out, &value),
            Err(_) => out.extend_from_slice(text.as_bytes()),
        },
    }
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

/// Whether `text` is one JSON value exactly as [`write_json`] writes it: no whitespace, keys
/// in strictly ascending order, minimal escapes, integers that fit 64 bits. One scan, no
/// allocation. Anything it is unsure of (an escaped key, a key above U+FFFF, a fraction or an
/// exponent, `-0`, nesting deeper than serde_json parses) answers false: the slow path
/// decides it.
pub fn is_canonical(text: &[u8]) -> bool {
    let mut scan = Scan { text, at: 0 };
    scan.value(0) && scan.at == text.len()
}

/// Writes `text` canonically to `out` without building a tree, when it needs no more than its
/// whitespace dropped and its keys sorted (JSONB's output form: `{"b": 1, "aa": [2, 3]}`, keys
/// by length first). False, with `out` as it was, for anything [`is_canonical`] is unsure of
/// or a key repeated: the slow path decides those.
fn rewrite(text: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let mut scan = Scan { text, at: 0 };
    let ok = scan.copy_value(out, 0) && {
        scan.skip_whitespace();
        scan.at == text.len()
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

/// serde_json's own nesting limit: deeper text is not JSON it parses.
const MAX_DEPTH: usize = 128;

/// How many leading bytes of `bytes` a string holds as they are (not `"`, `\` or a control
/// character), eight at a time: strings are most of the text and most of their bytes.
fn ordinary_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `v` below `n` (n <= 0x80). Above the first such byte a
    // borrow may flag others, so only the lowest flag is exact, and only it is used.
    let below = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGH;
    let mut run = 0;
    while let Some(word) = bytes.get(run..run + 8) {
        let v = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let flags = below(v ^ (ONES * u64::from(b'"')), 1)
            | below(v ^ (ONES * u64::from(b'\\')), 1)
            | below(v, 0x20);
        if flags != 0 {
            return run + (flags.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    let tail = &bytes[run..];
    run + tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

struct Scan<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let ok = self.peek() == Some(b);
        self.at += ok as usize;
        ok
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let ok = self.text[self.at..].starts_with(word);
        self.at += word.len();
        ok
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&[u8]> = None;
        loop {
            // A key with an escape or a 4-byte character may sort differently as UTF-16.
            let Some((key, plain)) = self.string() else {
                return false;
            };
            if !plain || key.iter().any(|&b| b >= 0xF0) || previous.is_some_and(|p| p >= key) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth + 1) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// [`Scan::value`] with whitespace allowed and keys in any order, written canonically.
    fn copy_value(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        self.skip_whitespace();
        let start = self.at;
        let ok = match self.peek() {
            Some(b'{') => return self.copy_object(out, depth),
            Some(b'[') => return self.copy_array(out, depth),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        };
        if ok {
            out.extend_from_slice(&self.text[start..self.at]);
        }
        ok
    }

    fn copy_array(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        self.at += 1;
        out.push(b'[');
        self.skip_whitespace();
        if !self.eat(b']') {
            loop {
                if !self.copy_value(out, depth + 1) {
                    return false;
                }
                self.skip_whitespace();
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return false;
                }
                out.push(b',');
            }
        }
        out.push(b']');
        true
    }

    /// Each member's value is written to a buffer of the object's own, then the members are
    /// copied out in key order.
    fn copy_object(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        self.at += 1;
        self.skip_whitespace();
        if self.eat(b'}') {
            out.extend_from_slice(b"{}");
            return true;
        }
        let mut values = Vec::new();
        let mut members: Vec<(&'a [u8], std::ops::Range<usize>)> = Vec::new();
        loop {
            if self.peek() != Some(b'"') {
                return false;
            }
            let Some((key, plain)) = self.string() else {
                return false;
            };
            if !plain || key.iter().any(|&b| b >= 0xF0) {
                return false;
            }
            self.skip_whitespace();
            let start = values.len();
            if !self.eat(b':') || !self.copy_value(&mut values, depth + 1) {
                return false;
            }
            members.push((key, start..values.len()));
            self.skip_whitespace();
            if self.eat(b'}') {
                break;
            }
            if !self.eat(b',') {
                return false;
            }
            self.skip_whitespace();
        }
        members.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if members.windows(2).any(|w| w[0].0 == w[1].0) {
            return false;
        }
        out.push(b'{');
        for (i, (key, value)) in members.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(key);
            out.extend_from_slice(b"\":");
            out.extend_from_slice(&values[value]);
        }
        out.push(b'}');
        true
    }

    /// A string with only the escapes `write_string` makes: its raw content, and whether it
    /// has no escape at all.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.at += 1;
        let start = self.at;
        let mut plain = true;
        loop {
            self.at += ordinary_run(&self.text[self.at..]);
            let b = self.peek()?;
            self.at += 1;
            match b {
                b'"' => return Some((&self.text[start..self.at - 1], plain)),
                b'\\' => {
                    plain = false;
                    match self.peek()? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            let hex = self.text.get(self.at + 1..self.at + 5)?;
                            // Only control characters without a short form, in lowercase.
                            let short = [b"0008", b"0009", b"000a", b"000c", b"000d"];
                            let control = hex.starts_with(b"00")
                                && matches!(hex[2], b'0' | b'1')
                                && matches!(hex[3], b'0'..=b'9' | b'a'..=b'f')
                                && !short.iter().any(|s| hex == &s[..]);
                            if !control {
                                return None;
                            }
                            self.at += 5;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// An integer serde_json reads as a u64 or a negative i64 (which `write_json` writes as
    /// it is); a fraction, an exponent or a larger magnitude is left to the slow path.
    fn integer(&mut self) -> bool {
        let start = self.at;
        let negative = self.eat(b'-');
        let digits = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let number = &self.text[digits..self.at];
        if number.is_empty()
            || (number[0] == b'0' && (number.len() > 1 || negative))
            || matches!(self.peek(), Some(b'.' | b'e' | b'E'))
        {
            return false;
        }
        // ASCII digits (and a sign) only, so this is valid UTF-8.
        let text = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("x");
        if negative {
            text.parse::<i64>().is_ok()
        } else {
            text.parse::<u64>().is_ok()
        }
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
    #[test]
    fn ordinary_runs_stop_at_the_first_quote_backslash_or_control_byte() {
        let naive = |b: &[u8]| {
            b.iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(b.len())
        };
        // Every special byte at every offset, behind ordinary bytes of every kind (ASCII, UTF-8
        // continuation and lead bytes, the bytes just above each special one).
        let fillers = [b'a', 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff];
        for len in 0..24 {
            for &filler in &fillers {
                let plain = vec![filler; len];
                assert_eq!(super::ordinary_run(&plain), len);
                for at in 0..len {
                    for special in [b'"', b'\\', 0x00, 0x01, 0x1f] {
                        let mut bytes = plain.clone();
                        bytes[at] = special;
                        // A second special byte later never moves the answer.
                        if at + 3 < len {
                            bytes[at + 3] = 0x00;
                        }
                        assert_eq!(super::ordinary_run(&bytes), naive(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }

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
            data: Json::Parsed(&data),
            metadata: Json::Parsed(&metadata),
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

    /// The bytes a leaf commits to for `text`, through the fast path or the slow one.
    fn of_text(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        put_json(&mut out, Json::Text(text));
        out.split_off(4)
    }

    #[test]
    fn text_gives_the_bytes_its_value_gives() {
        let texts = [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"x"}}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a": 1, "b": [1, 2]}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"k":"line\nbreak \u0001 \"q\" \\"}"#,
            r#"{"k":"\u0041 \/ \u000A \u001F"}"#,
            r#"{"\u0061":1,"b":2}"#,
            "{\"\u{fb33}\":1,\"\u{1f600}\":2}",
            r#"[18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809]"#,
            r#"[1.0,1.5,1e3,-0,0,-1,1E2,100]"#,
            r#""plain""#,
            r#" {}"#,
            r#"{}"#,
            r#"[]"#,
            r#"{"a":{}}"#,
        ];
        for text in texts {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                String::from_utf8(of_text(text)).unwrap(),
                String::from_utf8(canonical_json(&value)).unwrap(),
                "{text}"
            );
        }
        // What SQLite keeps (serde_json's compact form of a value) takes the fast path.
        for text in [r#"{"a":1,"b":[true,null],"c":"é😀\n"}"#, "-5", "[0,10]"] {
            assert!(is_canonical(text.as_bytes()), "{text}");
        }
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a": 1}"#,
            r#"{"a":1,"a":1}"#,
            "1.5",
            "-0",
            "01",
            r#""\u0041""#,
            r#""\u000a""#,
            r#""\u001F""#,
            "tru",
            "[1,]",
            "{\"a\":1",
        ] {
            assert!(!is_canonical(text.as_bytes()), "{text}");
        }
        // JSONB's output form is rewritten without a tree.
        for text in [
            r#"{"b": 1, "aa": [2, 3], "c": {"z": null, "y": "s\\n"}}"#,
            "[ 1 ,\n 2 ]",
            r#"{"a": {}, "b": []}"#,
        ] {
            let mut out = Vec::new();
            assert!(rewrite(text.as_bytes(), &mut out), "{text}");
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(out, canonical_json(&value), "{text}");
        }
        for text in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1.5}"#,
            r#"{"a": 1,}"#,
            "[1 2]",
            "{\"a\" 1}",
        ] {
            let mut out = b"kept".to_vec();
            assert!(!rewrite(text.as_bytes(), &mut out), "{text}");
            assert_eq!(out, b"kept");
        }
        // Deep nesting is left to the slow path, never the stack.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(!is_canonical(deep.as_bytes()));
        assert!(!rewrite(deep.as_bytes(), &mut Vec::new()));
        // Text that is not JSON is committed to as its bytes.
        assert_eq!(of_text("{not json"), b"{not json");
    }

    #[test]
    fn a_value_written_compactly_takes_the_fast_path() {
        let value = json!({
            "digest": "sha256:00", "size": 12345678901u64, "neg": -3, "tags": ["a", "b"],
            "nested": {"z": null, "y": false, "x": "tab\there"}, "ünï": "ç",
        });
        let text = value.to_string();
        assert!(is_canonical(text.as_bytes()));
        assert_eq!(of_text(&text), canonical_json(&value));
    }

    /// A pseudo-random value (xorshift from `seed`): nested objects with keys of mixed lengths,
    /// strings with escapes and non-ASCII, integers of every size, fractions.
    fn random_value(seed: &mut u64, depth: usize) -> Value {
        fn next(seed: &mut u64) -> u64 {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        }
        let pick = next(seed) % if depth > 3 { 6 } else { 8 };
        let strings = [
            "",
            "a",
            "é\"\\",
            "line\n\t\u{1}",
            "😀x",
            "\u{fb33}",
            "name",
            "zz",
        ];
        match pick {
            0 => Value::Null,
            1 => Value::Bool(next(seed).is_multiple_of(2)),
            2 => json!(next(seed) as i64 >> (next(seed) % 64)),
            3 => json!(next(seed) >> (next(seed) % 64)),
            4 => json!((next(seed) % 10_000) as f64 / 8.0),
            5 => json!(strings[(next(seed) % 8) as usize]),
            6 => Value::Array(
                (0..next(seed) % 4)
                    .map(|_| random_value(seed, depth + 1))
                    .collect(),
            ),
            _ => {
                let mut map = serde_json::Map::new();
                for _ in 0..next(seed) % 6 {
                    let key =
                        strings[(next(seed) % 8) as usize].repeat((next(seed) % 3) as usize + 1);
                    map.insert(key, random_value(seed, depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    #[test]
    fn every_path_agrees_on_random_values() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..5_000 {
            let value = random_value(&mut seed, 0);
            let expected = canonical_json(&value);
            for text in [
                value.to_string(),
                serde_json::to_string_pretty(&value).unwrap(),
            ] {
                assert_eq!(of_text(&text), expected, "{text}");
            }
        }
    }
}
