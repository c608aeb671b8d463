//! `as_of`: the point in the log a time-travel read answers at — a recorded time (RFC 3339) or a
//! global position (`position:N`).

use chrono::{DateTime, Utc};

/// The largest position `as_of` accepts (positions are BIGINT in every store).
pub const MAX_POSITION: u64 = i64::MAX as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// The state after the event at this position (0: before the first event).
    Position(u64),
    /// The state after the last event recorded at or before this time.
    Time(DateTime<Utc>),
}

impl AsOf {
    /// Reads `position:N` or an RFC 3339 time; the error says what is accepted.
    pub fn parse(value: &str) -> Result<AsOf, String> {
        let value = value.trim();
        if let Some(n) = value.strip_prefix("position:") {
            return match n.parse::<u64>() {
                Ok(p) if p <= MAX_POSITION => Ok(AsOf::Position(p)),
                _ => Err(format!(
                    "as_of position must be an integer from 0 to {MAX_POSITION}"
                )),
            };
        }
        DateTime::parse_from_rfc3339(value)
            .map(|t| AsOf::Time(t.with_timezone(&Utc)))
            .map_err(|_| {
                "as_of must be an RFC 3339 time (2026-01-31T12:00:00Z) or position:N".to_owned()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_positions_and_times() {
        assert_eq!(AsOf::parse("position:42"), Ok(AsOf::Position(42)));
        assert_eq!(AsOf::parse("position:0"), Ok(AsOf::Position(0)));
        let t = AsOf::parse("2026-01-31T12:00:00+01:00").unwrap();
        assert_eq!(
            t,
            AsOf::Time("2026-01-31T11:00:00Z".parse::<DateTime<Utc>>().unwrap())
        );
    }

    #[test]
    fn refuses_what_is_neither() {
        for bad in [
            "position:-1",
            "position:",
            "position:9223372036854775808",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "",
        ] {
            assert!(AsOf::parse(bad).is_err(), "{bad}");
        }
    }
}
