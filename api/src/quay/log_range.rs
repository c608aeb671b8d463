//! Quay's log time window: `starttime` and `endtime` as `%m/%d/%Y` in UTC, end date inclusive,
//! the last day when neither is given.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::error::QuayError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRange {
    pub start: DateTime<Utc>,
    /// Exclusive.
    pub end: DateTime<Utc>,
}

fn parse_day(field: &str, value: &str) -> Result<DateTime<Utc>, QuayError> {
    NaiveDate::parse_from_str(value.trim(), "%m/%d/%Y")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| {
            QuayError::invalid_request(format!(
                "Invalid {field} {value:?}: expected %m/%d/%Y, e.g. 06/18/2024"
            ))
        })
}

impl LogRange {
    pub fn parse(
        starttime: Option<&str>,
        endtime: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, QuayError> {
        let start = match starttime.filter(|s| !s.is_empty()) {
            Some(s) => parse_day("starttime", s)?,
            None => now - Duration::days(1),
        };
        let end = match endtime.filter(|s| !s.is_empty()) {
            Some(s) => parse_day("endtime", s)? + Duration::days(1),
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
