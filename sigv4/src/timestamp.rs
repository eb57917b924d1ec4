//! Request times for SigV4: parsing `X-Amz-Date` (ISO 8601 basic, `20150830T123600Z`) and `Date`
//! (RFC 1123, as browsers and botocore write it), and printing the basic form that the string to
//! sign and AWS's error messages use. UTC only, whole seconds, years 0000–9999; no calendar crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant with one-second resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: i64,
}

const SECONDS_PER_DAY: i64 = 86_400;
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

impl Timestamp {
    /// The instant `unix_seconds` after 1970-01-01T00:00:00Z.
    pub fn from_unix_seconds(unix_seconds: i64) -> Timestamp {
        Timestamp { unix_seconds }
    }

    /// `time`, truncated to whole seconds (clamped for absurd clocks).
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        let unix_seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |secs| -secs),
        };
        Timestamp { unix_seconds }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.unix_seconds
    }

    /// This instant moved by `seconds` (saturating).
    pub fn offset_by(self, seconds: i64) -> Timestamp {
        Timestamp { unix_seconds: self.unix_seconds.saturating_add(seconds) }
    }

    /// Parses exactly `YYYYMMDDTHHMMSSZ`.
    pub fn parse_iso8601_basic(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
            return None;
        }
        let field = |range: std::ops::Range<usize>| bytes.get(range).and_then(decimal);
        from_fields(field(0..4)?, field(4..6)?, field(6..8)?, field(9..11)?, field(11..13)?, field(13..15)?)
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`, the form [`Timestamp::to_rfc3339`] prints.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'Z')];
        if bytes.len() != 20 || !separators.iter().all(|&(at, byte)| bytes.get(at) == Some(&byte)) {
            return None;
        }
        let field = |range: std::ops::Range<usize>| bytes.get(range).and_then(decimal);
        from_fields(field(0..4)?, field(5..7)?, field(8..10)?, field(11..13)?, field(14..16)?, field(17..19)?)
    }

    /// Parses an RFC 1123 date, `Sun, 30 Aug 2015 12:36:00 GMT`; the weekday is optional and
    /// not checked, and the zone may be `GMT`, `UTC`, `UT`, `Z`, `+0000` or `-0000` (botocore
    /// writes the last).
    pub fn parse_http_date(text: &str) -> Option<Timestamp> {
        let mut tokens = text.split_ascii_whitespace().peekable();
        if tokens.peek().is_some_and(|first| first.ends_with(',')) {
            tokens.next();
        }
        let day = tokens.next().filter(|day| day.len() <= 2).and_then(|day| decimal(day.as_bytes()))?;
        let month_name = tokens.next()?;
        let month = MONTHS.iter().position(|name| name.eq_ignore_ascii_case(month_name))?;
        let year = tokens.next().filter(|year| year.len() == 4).and_then(|year| decimal(year.as_bytes()))?;
        let mut clock = tokens.next()?.split(':');
        let mut clock_field =
            || clock.next().filter(|part| part.len() == 2).and_then(|part| decimal(part.as_bytes()));
        let (hour, minute, second) = (clock_field()?, clock_field()?, clock_field()?);
        if clock.next().is_some() {
            return None;
        }
        let zone = tokens.next()?;
        if !["GMT", "UTC", "UT", "Z", "+0000", "-0000"].contains(&zone) || tokens.next().is_some() {
            return None;
        }
        let month = i64::try_from(month).ok()? + 1;
        from_fields(year, month, day, hour, minute, second)
    }

    /// The day, `YYYYMMDD`, as the credential scope names it.
    pub fn date_stamp(self) -> String {
        let (year, month, day) = civil_from_days(self.unix_seconds.div_euclid(SECONDS_PER_DAY));
        format!("{year:04}{month:02}{day:02}")
    }
}

impl Timestamp {
    /// RFC 3339 UTC, `2015-08-30T12:36:00Z`, the form people read.
    pub fn to_rfc3339(self) -> String {
        let (year, month, day) = civil_from_days(self.unix_seconds.div_euclid(SECONDS_PER_DAY));
        let seconds_of_day = self.unix_seconds.rem_euclid(SECONDS_PER_DAY);
        let (hour, minute, second) = (seconds_of_day / 3600, seconds_of_day / 60 % 60, seconds_of_day % 60);
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

impl std::fmt::Display for Timestamp {
    /// ISO 8601 basic format, `20150830T123600Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds_of_day = self.unix_seconds.rem_euclid(SECONDS_PER_DAY);
        let (hour, minute, second) = (seconds_of_day / 3600, seconds_of_day / 60 % 60, seconds_of_day % 60);
        write!(f, "{}T{hour:02}{minute:02}{second:02}Z", self.date_stamp())
    }
}

/// ASCII digits as a number; `None` for anything else (or more than 4 digits).
fn decimal(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 4 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0, |value, digit| value * 10 + i64::from(digit - b'0')))
}

fn from_fields(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<Timestamp> {
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        let days = days_from_civil(year, month, day);
        Timestamp { unix_seconds: days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second }
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days.saturating_add(719_468);
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_format_round_trips_through_unix_seconds() {
        let parsed = Timestamp::parse_iso8601_basic("20150830T123600Z").unwrap();
        assert_eq!(parsed.unix_seconds(), 1_440_938_160);
        assert_eq!(parsed.to_string(), "20150830T123600Z");
        assert_eq!(parsed.date_stamp(), "20150830");
        assert_eq!(Timestamp::from_unix_seconds(0).to_string(), "19700101T000000Z");
        let leap_day = Timestamp::parse_iso8601_basic("20240229T235959Z").unwrap();
        assert_eq!(leap_day.offset_by(1).to_string(), "20240301T000000Z");
    }

    #[test]
    fn basic_format_rejects_anything_else() {
        for text in [
            "",
            "20150830T123600",
            "20150830t123600Z",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T1236+0Z",
            "2015083éT12360Z",
            "20150830T123600Z ",
        ] {
            assert_eq!(Timestamp::parse_iso8601_basic(text), None, "{text:?}");
        }
    }

    #[test]
    fn http_dates_parse_in_the_forms_clients_send() {
        let expected = Timestamp::parse_iso8601_basic("20150830T123600Z");
        for text in [
            "Sun, 30 Aug 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36:00 -0000",
            "30 Aug 2015 12:36:00 UTC",
            "Sun,  30 aug 2015 12:36:00 +0000",
        ] {
            assert_eq!(Timestamp::parse_http_date(text), expected, "{text:?}");
        }
        for text in
            ["Sun, 30 Aug 2015 12:36:00", "Sun, 30 Aug 2015 12:36 GMT", "Sun, 31 Sep 2015 12:36:00 GMT"]
        {
            assert_eq!(Timestamp::parse_http_date(text), None, "{text:?}");
        }
        assert_eq!(Timestamp::parse_http_date("Sun, 30 Aug 2015 12:36:00 +0200"), None);
    }

    #[test]
    fn system_time_converts_on_both_sides_of_the_epoch() {
        let later = UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        assert_eq!(Timestamp::from_system_time(later).to_string(), "20150830T123600Z");
        let earlier = UNIX_EPOCH - std::time::Duration::from_secs(86_400);
        assert_eq!(Timestamp::from_system_time(earlier).to_string(), "19691231T000000Z");
    }
}
