//! RFC 3339 timestamps in the one shape the log uses, `YYYY-MM-DDTHH:MM:SSZ`, converted to and
//! from Unix time with Howard Hinnant's civil-from-days algorithms (no time zone database needed:
//! every record is UTC).

use std::time::{SystemTime, UNIX_EPOCH};

/// `unix_ms` as RFC 3339 in UTC with second precision: `2026-12-04T01:02:03Z`.
pub fn rfc3339_seconds(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Unix seconds of `text` if it is exactly `YYYY-MM-DDTHH:MM:SSZ` and a real UTC instant at or
/// after 1970.
pub fn parse_rfc3339_seconds(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 {
        return None;
    }
    let shape_ok = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'Z')]
        .iter()
        .all(|&(at, byte)| bytes.get(at) == Some(&byte));
    if !shape_ok {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u64> {
        let digits = text.get(from..to)?;
        digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of `days` since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted so the era starts on 0000-03-01; 719_468 days separate it from 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a date at or after it.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_709_251_199_999), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_seconds(1_796_346_123_456), "2026-12-04T01:02:03Z");
        assert_eq!(rfc3339_seconds(4_102_444_800_000), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [0, 951_782_400_000, 1_709_251_199_000, 1_796_346_123_000, 4_107_542_399_000] {
            assert_eq!(parse_rfc3339_seconds(&rfc3339_seconds(ms)), Some(ms / 1000));
        }
        for day in (0..200_000u64).step_by(97) {
            let ms = day * 86_400_000 + 12_345_000;
            assert_eq!(parse_rfc3339_seconds(&rfc3339_seconds(ms)), Some(ms / 1000));
        }
    }

    #[test]
    fn refuses_other_shapes() {
        for text in [
            "2026-12-04T01:02:03",
            "2026-12-04 01:02:03Z",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-12-04T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-12-04T01:02:03.5Z",
            "+026-12-04T01:02:03Z",
            "",
        ] {
            assert_eq!(parse_rfc3339_seconds(text), None, "{text}");
        }
    }
}
