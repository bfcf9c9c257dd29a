//! Timestamps as the MAXIMUS backend writes them: mostly Python's
//! `datetime.now().isoformat()` (no offset; the service runs in UTC), some
//! RFC 3339, and `time.time()` Unix seconds inside the TIG metrics.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as `datetime.now().isoformat()` writes it in UTC:
/// `YYYY-MM-DDTHH:MM:SS.ffffff`, without an offset.
pub(crate) fn now() -> String {
    naive(SystemTime::now())
}

/// `time` as `isoformat()` writes a naive UTC datetime.
pub(crate) fn naive(time: SystemTime) -> String {
    let mut text = rfc3339(time);
    text.pop(); // the `Z`
    text
}

/// The current time as `time.time()` gives it: Unix seconds, microsecond precision.
pub(crate) fn unix_seconds() -> f64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_micros() as f64) / 1e6
}

/// Formats `time` in UTC with microseconds, as the MAXIMUS backend does.
/// Times before the Unix epoch are clamped to it.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time.max(UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_a_known_instant() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123456Z");
    }

    #[test]
    fn naive_form_has_no_offset() {
        let t = UNIX_EPOCH + Duration::from_micros(1_765_040_179_043_975);
        assert_eq!(naive(t), "2025-12-06T16:56:19.043975");
    }

    #[test]
    fn formats_a_leap_day() {
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000000Z");
    }
}
