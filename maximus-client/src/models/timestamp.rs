//! Points in time as MAXIMUS writes them: Python's `isoformat()` (often without an offset),
//! RFC 3339 with one, or Unix seconds.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, with nanosecond precision.
///
/// Decoded from any of the forms the service writes:
/// - RFC 3339 / ISO 8601 with an offset: `2025-12-06T16:56:19.043975Z`, `...+01:00`;
/// - ISO 8601 without one (what Python's `datetime.now().isoformat()` writes), read as UTC:
///   `2025-12-06T16:56:19.043975` (a space for the `T` is accepted too);
/// - Unix seconds, as an integer or a float: `1765040179`, `1765040179.043975`.
///
/// Written (and displayed) as RFC 3339 in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    /// The instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        SystemTime::from(self.0)
    }

    /// Seconds since the Unix epoch (negative before it).
    pub fn as_unix_seconds(self) -> f64 {
        self.0.as_second() as f64 + f64::from(self.0.subsec_nanosecond()) / 1e9
    }

    /// From Unix seconds; `None` when out of range (beyond year 9999) or not finite.
    pub fn from_unix_seconds(seconds: f64) -> Option<Timestamp> {
        if !seconds.is_finite() {
            return None;
        }
        let whole = seconds.floor();
        let nanos = ((seconds - whole) * 1e9).round() as i32;
        // `as` saturates; out-of-range seconds are then refused by jiff.
        jiff::Timestamp::new(whole as i64, nanos.min(999_999_999))
            .ok()
            .map(Timestamp)
    }
}

impl From<SystemTime> for Timestamp {
    /// Clamped to jiff's range (years -9999 to 9999).
    fn from(time: SystemTime) -> Self {
        let clamped = |t: Result<jiff::Timestamp, _>| t.unwrap_or(jiff::Timestamp::MAX);
        let ts = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => clamped(jiff::Timestamp::try_from(UNIX_EPOCH + after)),
            Err(e) => {
                let before: Duration = e.duration();
                jiff::Timestamp::try_from(UNIX_EPOCH - before).unwrap_or(jiff::Timestamp::MIN)
            }
        };
        Timestamp(ts)
    }
}

/// Why a text is not a [`Timestamp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimestampError(String);

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an RFC 3339 / ISO 8601 timestamp (with or without an offset) or Unix seconds",
            self.0
        )
    }
}

impl std::error::Error for ParseTimestampError {}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(ts) = text.parse::<jiff::Timestamp>() {
            return Ok(Timestamp(ts));
        }
        // No offset: the service's own clock, which it runs in UTC.
        if let Ok(civil) = text.parse::<jiff::civil::DateTime>() {
            if let Ok(zoned) = civil.to_zoned(jiff::tz::TimeZone::UTC) {
                return Ok(Timestamp(zoned.timestamp()));
            }
        }
        // Unix seconds written as text.
        if let Some(ts) = text.parse::<f64>().ok().and_then(Timestamp::from_unix_seconds) {
            return Ok(ts);
        }
        Err(ParseTimestampError(text.chars().take(64).collect()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 / ISO 8601 timestamp (with or without an offset) or Unix seconds")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Timestamp, E> {
        jiff::Timestamp::from_second(seconds)
            .map(Timestamp)
            .map_err(|_| E::custom(format!("{seconds} Unix seconds is out of range")))
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Timestamp, E> {
        let seconds = i64::try_from(seconds)
            .map_err(|_| E::custom(format!("{seconds} Unix seconds is out of range")))?;
        self.visit_i64(seconds)
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Timestamp, E> {
        Timestamp::from_unix_seconds(seconds)
            .ok_or_else(|| E::custom(format!("{seconds} Unix seconds is out of range")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Timestamp, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    const AT: &str = "2025-12-06T16:56:19.043975Z";

    #[test]
    fn every_form_the_service_writes_reads_as_the_same_instant() {
        let expected = parse(&format!("\"{AT}\"")).unwrap();
        for form in [
            "\"2025-12-06T16:56:19.043975\"",
            "\"2025-12-06 16:56:19.043975\"",
            "\"2025-12-06T17:56:19.043975+01:00\"",
            "1765040179.043975",
            "\"1765040179.043975\"",
        ] {
            let got = parse(form).unwrap();
            let gap = (got.as_unix_seconds() - expected.as_unix_seconds()).abs();
            assert!(gap < 1e-6, "{form}: {got} vs {expected}");
        }
        assert_eq!(parse("1765040179").unwrap().to_string(), "2025-12-06T16:56:19Z");
    }

    #[test]
    fn written_back_as_rfc_3339_in_utc() {
        let ts = parse("\"2025-12-06T17:56:19.5+01:00\"").unwrap();
        assert_eq!(serde_json::to_string(&ts).unwrap(), "\"2025-12-06T16:56:19.5Z\"");
    }

    #[test]
    fn not_a_time_is_an_error_saying_what_is_accepted() {
        for bad in ["\"yesterday\"", "true", "\"2025-13-40T00:00:00\"", "1e300"] {
            let error = parse(bad).unwrap_err();
            assert!(
                error.contains("RFC 3339") || error.contains("out of range"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn converts_to_system_time() {
        let ts = parse("1").unwrap();
        assert_eq!(ts.to_system_time(), UNIX_EPOCH + Duration::from_secs(1));
        assert_eq!(Timestamp::from(UNIX_EPOCH + Duration::from_secs(1)), ts);
    }
}
