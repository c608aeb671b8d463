//! Quay's log time window: `starttime` and `endtime` as `%m/%d/%Y` in UTC, end date inclusive,
//! the last day when neither is given. The `start_time`/`end_time` a log page answers with
//! (`Tue, 18 Jun 2024 18:59:13 -0000`, RFC 2822; RFC 3339 too) are accepted as exact instants,
//! the end exclusive, so a window read from one answer can be sent back as it is.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::error::QuayError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRange {
    pub start: DateTime<Utc>,
    /// Exclusive.
    pub end: DateTime<Utc>,
}

/// A bound of the window: a day (`%m/%d/%Y`, with the day after it when `day_end`), or an
/// instant in the format the log answers carry.
fn parse_bound(field: &str, value: &str, day_end: bool) -> Result<DateTime<Utc>, QuayError> {
    let value = value.trim();
    let invalid = || {
        QuayError::invalid_request(format!(
            "Invalid {field} {value:?}: expected %m/%d/%Y (e.g. 06/18/2024) or a log datetime \
             (e.g. Tue, 18 Jun 2024 18:59:13 -0000)"
        ))
    };
    let at = if let Ok(day) = NaiveDate::parse_from_str(value, "%m/%d/%Y") {
        let day = if day_end { day.succ_opt() } else { Some(day) };
        day.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    } else {
        DateTime::parse_from_rfc2822(value)
            .or_else(|_| DateTime::parse_from_rfc3339(value))
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    // Beyond these a window cannot be held in microseconds (or shown as a Quay datetime).
    at.filter(|t| (MIN_INSTANT..=MAX_INSTANT).contains(&t.timestamp()))
        .ok_or_else(invalid)
}

/// The earliest instant a window may start at (seconds since the epoch: 0001-01-01).
const MIN_INSTANT: i64 = -62_135_596_800;
/// The latest instant a window may end at (10000-01-01).
const MAX_INSTANT: i64 = 253_402_300_800;

impl LogRange {
    pub fn parse(
        starttime: Option<&str>,
        endtime: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, QuayError> {
        let start = match starttime.filter(|s| !s.is_empty()) {
            Some(s) => parse_bound("starttime", s, false)?,
            None => now - Duration::days(1),
        };
        let end = match endtime.filter(|s| !s.is_empty()) {
            Some(s) => parse_bound("endtime", s, true)?,
            None => now + Duration::seconds(1),
        };
        if end <= start {
            return Err(QuayError::invalid_request("starttime is after endtime"));
        }
        Ok(LogRange { start, end })
    }
}

/// Quay's log datetime: `Tue, 18 Jun 2024 18:59:13 -0000`.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S -0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_date_is_inclusive_and_reversed_ranges_are_refused() {
        let now = Utc::now();
        let r = LogRange::parse(Some("06/18/2024"), Some("06/18/2024"), now).unwrap();
        assert_eq!(r.end - r.start, Duration::days(1));
        assert!(LogRange::parse(Some("06/19/2024"), Some("06/18/2024"), now).is_err());
        assert!(LogRange::parse(Some("2024-06-18"), None, now).is_err());
        assert!(LogRange::parse(Some("13/01/2024"), None, now).is_err());
        let default = LogRange::parse(None, None, now).unwrap();
        let exact = LogRange::parse(
            Some("Tue, 18 Jun 2024 18:59:13 -0000"),
            Some("Wed, 19 Jun 2024 18:59:14 -0000"),
            now,
        )
        .unwrap();
        assert_eq!(
            exact.end - exact.start,
            Duration::days(1) + Duration::seconds(1)
        );
        assert!(LogRange::parse(None, Some("12/31/262143"), now).is_err());
        assert!(default.start < now && default.end > now);
    }

    #[test]
    fn datetime_has_quays_shape() {
        let t = DateTime::parse_from_rfc3339("2024-06-18T18:59:13Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_datetime(t), "Tue, 18 Jun 2024 18:59:13 -0000");
    }
}
