//! Points in time as MAXIMUS writes them: Python's `isoformat()` (often without an offset),
//! RFC 3339 with one, or a Unix time (seconds, or milli-, micro-, nanoseconds told apart by
//! magnitude).

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
/// - a Unix time, as an integer, a float or a number in a string: `1765040179`,
///   `1765040179.043975`. Its unit is told by its magnitude (what JavaScript's `Date.now()`,
///   Java, or Python's `time.time_ns()` write): below 10^11 it is seconds (10^11 s is the year
///   5138), below 10^14 milliseconds (`1765040179043`), below 10^17 microseconds, beyond that
///   nanoseconds. Each unit's range starts in 1973, so any reading since then is unambiguous;
///   seconds before 1970 keep working down to the year -1200 (negative values by magnitude).
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

    /// From Unix seconds (exactly, without the unit guess of decoding); `None` when out of
    /// range (beyond year 9999) or not finite.
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

/// Nanoseconds per unit of a Unix time of this magnitude (see [`Timestamp`]).
fn nanos_per_unit(magnitude: f64) -> i128 {
    if magnitude < 1e11 {
        1_000_000_000
    } else if magnitude < 1e14 {
        1_000_000
    } else if magnitude < 1e17 {
        1_000
    } else {
        1
    }
}

/// Why a Unix time does not decode, naming the unit its magnitude implied.
fn out_of_range(value: impl fmt::Display, magnitude: f64) -> String {
    let unit = match nanos_per_unit(magnitude) {
        1_000_000_000 => "seconds",
        1_000_000 => "milliseconds",
        1_000 => "microseconds",
        _ => "nanoseconds",
    };
    format!("{value} is out of range as a Unix time (read as {unit} by its magnitude)")
}

impl Timestamp {
    /// From an integer Unix time in the unit its magnitude implies, exactly.
    fn from_unix_integer(value: i128) -> Result<Timestamp, String> {
        let magnitude = value.unsigned_abs() as f64;
        value
            .checked_mul(nanos_per_unit(magnitude))
            .and_then(|nanos| jiff::Timestamp::from_nanosecond(nanos).ok())
            .map(Timestamp)
            .ok_or_else(|| out_of_range(value, magnitude))
    }

    /// From a float Unix time in the unit its magnitude implies: its whole units exactly,
    /// its fraction to the nearest nanosecond.
    fn from_unix_float(value: f64) -> Result<Timestamp, String> {
        let magnitude = value.abs();
        if !value.is_finite() {
            return Err(format!("{value} is not a Unix time"));
        }
        let per_unit = nanos_per_unit(magnitude);
        let whole = value.trunc();
        // `as` saturates; a saturated value is refused by jiff (or by the checked arithmetic).
        let fraction = ((value - whole) * per_unit as f64).round() as i128;
        (whole as i128)
            .checked_mul(per_unit)
            .and_then(|nanos| nanos.checked_add(fraction))
            .and_then(|nanos| jiff::Timestamp::from_nanosecond(nanos).ok())
            .map(Timestamp)
            .ok_or_else(|| out_of_range(value, magnitude))
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
            "{:?} is not an RFC 3339 / ISO 8601 timestamp (with or without an offset) or a Unix time",
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
        // A Unix time written as text: integers exactly, anything else as a float.
        let unix = match text.parse::<i128>() {
            Ok(integer) => Some(Timestamp::from_unix_integer(integer)),
            Err(_) => text.parse::<f64>().ok().map(Timestamp::from_unix_float),
        };
        if let Some(Ok(ts)) = unix {
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
        f.write_str("an RFC 3339 / ISO 8601 timestamp (with or without an offset) or a Unix time")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Timestamp, E> {
        Timestamp::from_unix_integer(value.into()).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Timestamp, E> {
        Timestamp::from_unix_integer(value.into()).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Timestamp, E> {
        Timestamp::from_unix_float(value).map_err(E::custom)
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
    fn a_unix_time_is_read_in_the_unit_its_magnitude_implies() {
        let at = "2025-12-06T16:56:19.043Z";
        for form in [
            "1765040179043",
            "1765040179043.0",
            "\"1765040179043\"",
            "1765040179043000",
            "1765040179043000000",
        ] {
            assert_eq!(parse(form).unwrap().to_string(), at, "{form}");
        }
        // Integers keep every digit (a float would round the nanoseconds).
        assert_eq!(
            parse("1765040179043975123").unwrap().to_string(),
            "2025-12-06T16:56:19.043975123Z"
        );
        // Just below the threshold is still seconds (the year 5138), and before 1970 works.
        assert_eq!(parse("99999999999").unwrap().to_string(), "5138-11-16T09:46:39Z");
        assert_eq!(parse("-86400").unwrap().to_string(), "1969-12-31T00:00:00Z");
        assert_eq!(parse("-86400000").unwrap().to_string(), "1967-04-07T00:00:00Z");
    }

    #[test]
    fn an_out_of_range_unix_time_names_the_unit_it_was_read_in() {
        let error = parse("1e300").unwrap_err();
        assert!(
            error.contains("out of range") && error.contains("nanoseconds"),
            "{error}"
        );
        for bad in ["\"1e300\"", "\"NaN\"", "\"inf\""] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
        }
    }

    #[test]
    fn converts_to_system_time() {
        let ts = parse("1").unwrap();
        assert_eq!(ts.to_system_time(), UNIX_EPOCH + Duration::from_secs(1));
        assert_eq!(Timestamp::from(UNIX_EPOCH + Duration::from_secs(1)), ts);
    }
}
