//! RFC 3339 timestamps, as the MAXIMUS backend writes them.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn now() -> String {
    rfc3339(SystemTime::now())
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
    fn formats_a_leap_day() {
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000000Z");
    }
}
