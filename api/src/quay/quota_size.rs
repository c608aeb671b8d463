//! Quota sizes as Quay writes and reads them: `limit` strings such as `10 GiB`, `500M` or
//! `1024` (bitmath's units: binary with an `i`, decimal without), and the human form a quota
//! view shows (`1.0 GiB`, bitmath's best binary prefix with one decimal).

const BINARY: [&str; 8] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];
const DECIMAL: [&str; 8] = ["K", "M", "G", "T", "P", "E", "Z", "Y"];

/// Why a `limit` string was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SizeError {
    Malformed,
    /// More bytes than a quota may hold.
    TooLarge,
}

/// The bytes a `limit` string names.
pub fn parse(s: &str) -> Result<i64, SizeError> {
    let s = s.trim();
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return Err(SizeError::Malformed);
    }
    let (number, rest) = s.split_at(digits);
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    let multiplier: u128 = if unit.is_empty() || unit == "B" {
        1
    } else {
        let base = unit.strip_suffix('B').unwrap_or(unit);
        let (table, radix) = if base.ends_with('i') {
            (&BINARY, 1024u128)
        } else {
            (&DECIMAL, 1000u128)
        };
        let exp = table
            .iter()
            .position(|u| *u == base)
            .ok_or(SizeError::Malformed)?;
        radix.pow(exp as u32 + 1)
    };
    let number: u128 = number.parse().map_err(|_| SizeError::TooLarge)?;
    number
        .checked_mul(multiplier)
        .and_then(|n| i64::try_from(n).ok())
        .ok_or(SizeError::TooLarge)
}

/// `1.0 GiB`, `500.0 Byte`: the largest binary unit the size reaches, one decimal.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["Byte", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_shown_as_bitmath_does() {
        assert_eq!(parse("1024"), Ok(1024));
        assert_eq!(parse("10 GiB"), Ok(10 << 30));
        assert_eq!(parse("2Gi"), Ok(2 << 30));
        assert_eq!(parse("500M"), Ok(500_000_000));
        assert_eq!(parse("3 KB"), Ok(3000));
        assert_eq!(parse("5B"), Ok(5));
        for bad in ["", "GiB", "-1 GiB", "1.5 GiB", "10 Gb", "1  GiB", "10 XiB"] {
            assert_eq!(parse(bad), Err(SizeError::Malformed), "{bad}");
        }
        assert_eq!(parse("9 YiB"), Err(SizeError::TooLarge));
        assert_eq!(human(500), "500.0 Byte");
        assert_eq!(human(1 << 30), "1.0 GiB");
        assert_eq!(human(1536), "1.5 KiB");
    }
}
