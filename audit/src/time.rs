//! RFC 3339 timestamps in the one shape the log uses, `YYYY-MM-DDTHH:MM:SSZ`, in Unix time:
//! the calendar is `trent_sigv4::Timestamp`'s (UTC, whole seconds, no time zone database).

use std::time::{SystemTime, UNIX_EPOCH};

use trent_sigv4::Timestamp;

/// `unix_ms` as RFC 3339 in UTC with second precision: `2026-12-04T01:02:03Z`. Every record
/// of a call carries one, and most calls of a thread fall in the second of its last: that
/// second's text is kept per thread.
pub fn rfc3339_seconds(unix_ms: u64) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, String)>> = const { std::cell::RefCell::new(None) };
    }
    let seconds = unix_ms / 1000;
    LAST.with_borrow_mut(|last| match last {
        Some((at, text)) if *at == seconds => text.clone(),
        _ => {
            let text = Timestamp::from_unix_seconds(i64::try_from(seconds).unwrap_or(i64::MAX)).to_rfc3339();
            *last = Some((seconds, text.clone()));
            text
        }
    })
}

/// Unix seconds of `text` if it is exactly `YYYY-MM-DDTHH:MM:SSZ` and a real UTC instant at or
/// after 1970.
pub fn parse_rfc3339_seconds(text: &str) -> Option<u64> {
    u64::try_from(Timestamp::parse_rfc3339(text)?.unix_seconds()).ok()
}

/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
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
        // The same second again (from the thread's memo), and the next.
        assert_eq!(rfc3339_seconds(4_102_444_800_999), "2100-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(4_102_444_801_000), "2100-01-01T00:00:01Z");
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
