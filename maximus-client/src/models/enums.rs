//! The service's enumerations, read leniently: a known value is recognised whatever its ASCII
//! case, surrounding whitespace, and whether its words are joined by `_`, `-` or a space
//! (Python servers write `EMERGENCY_SHUTDOWN`, `emergency-shutdown`, `Emergency Shutdown`); a
//! value this client does not know yet is kept as `Other`, as sent (the service adds values as
//! it grows; a client must not break on them).

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `text` as the enums compare it: trimmed, ASCII lower case, `-` and space read as `_`.
/// Non-ASCII bytes pass unchanged (they never equal an ASCII byte in UTF-8).
fn folded(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.trim().bytes().map(|b| match b {
        b'-' | b' ' => b'_',
        b => b.to_ascii_lowercase(),
    })
}

/// Whether two spellings name the same value.
fn same_value(a: &str, b: &str) -> bool {
    folded(a).eq(folded(b))
}

/// Hashes the folded spelling, so values equal by `==` hash equal.
fn hash_value<H: Hasher>(text: &str, state: &mut H) {
    for b in folded(text) {
        state.write_u8(b);
    }
    // The same terminator `str` uses, so `("ab", "c")` and `("a", "bc")` differ in a tuple.
    state.write_u8(0xff);
}

/// Defines a lenient enum: known variants matched by their folded spelling (see [`folded`]),
/// `Other(text)` keeping anything else as sent; written back in the service's own spelling.
///
/// Equality and hashing follow the same folding, so `Other("Focused") == Other("focused")`,
/// and an `Other` built by hand with a known spelling equals that variant: `==` with another
/// value, `==` with text, and `Hash` always agree.
macro_rules! lenient_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this client does not know, exactly as the service sent it (surrounding
            /// whitespace included); `Display` and serialisation write it back unchanged.
            Other(String),
        }

        impl $name {
            /// The service's spelling (what an `Other` holds, for an unknown value).
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(text) => text,
                }
            }

            /// Reads `text`, ignoring ASCII case, surrounding whitespace and which of `_`, `-`
            /// or a space joins its words.
            pub fn from_text(text: &str) -> Self {
                $( if same_value(text, $text) { return $name::$variant; } )+
                $name::Other(text.to_owned())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                same_value(self.as_str(), other.as_str())
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                hash_value(self.as_str(), state);
            }
        }

        /// Compares with the service's text as [`from_text`](Self::from_text) reads it
        /// (`status == "healthy"`, `health == "emergency-shutdown"`).
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                same_value(self.as_str(), other)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Ok($name::from_text(&text))
            }
        }
    };
}

lenient_enum! {
    /// The arousal band (`ArousalLevel` of the service's MCEA controller, written in lower
    /// case by the API; older releases wrote upper case).
    pub enum ArousalClassification {
        /// 0.0-0.2.
        Sleep = "sleep",
        /// 0.2-0.4.
        Drowsy = "drowsy",
        /// 0.4-0.6: the normal baseline.
        Relaxed = "relaxed",
        /// 0.6-0.8.
        Alert = "alert",
        /// 0.8-1.0.
        Hyperalert = "hyperalert",
        /// What the service reports when its arousal controller is not running.
        Unknown = "UNKNOWN",
    }
}

lenient_enum! {
    /// `system_health` of the consciousness state.
    pub enum SystemHealth {
        /// Every subsystem (TIG, ESGT, arousal) runs.
        Healthy = "HEALTHY",
        /// One is missing.
        Degraded = "DEGRADED",
        /// An emergency shutdown is in effect.
        EmergencyShutdown = "EMERGENCY_SHUTDOWN",
    }
}

lenient_enum! {
    /// `status` of `GET /health`.
    pub enum HealthStatus {
        /// Operational.
        Healthy = "healthy",
        /// Running with a component down.
        Degraded = "degraded",
        /// Not operational.
        Unhealthy = "unhealthy",
    }
}

lenient_enum! {
    /// A governance decision's risk.
    pub enum RiskLevel {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
}

lenient_enum! {
    /// Where a governance decision stands.
    pub enum DecisionStatus {
        /// Waiting for an operator.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
        /// Escalated.
        Escalated = "escalated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_reads_as_the_known_value() {
        for text in ["\"relaxed\"", "\"RELAXED\"", "\"Relaxed\""] {
            let value: ArousalClassification = serde_json::from_str(text).unwrap();
            assert_eq!(value, ArousalClassification::Relaxed, "{text}");
        }
    }

    #[test]
    fn an_unknown_value_is_kept_as_sent() {
        let value: ArousalClassification = serde_json::from_str("\"focused\"").unwrap();
        assert_eq!(value, ArousalClassification::Other("focused".into()));
        assert_eq!(value.to_string(), "focused");
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"focused\"");
    }

    #[test]
    fn written_in_the_services_spelling() {
        assert_eq!(
            serde_json::to_string(&SystemHealth::Healthy).unwrap(),
            "\"HEALTHY\""
        );
        assert_eq!(HealthStatus::Degraded.to_string(), "degraded");
    }

    #[test]
    fn compares_with_text_in_any_case() {
        assert_eq!(HealthStatus::Healthy, "healthy");
        assert_eq!(HealthStatus::Healthy, "HEALTHY");
        assert_ne!(HealthStatus::Degraded, "healthy");
    }

    #[test]
    fn whitespace_and_word_separators_do_not_matter() {
        for text in [
            "EMERGENCY_SHUTDOWN",
            "emergency-shutdown",
            "Emergency Shutdown",
            "  emergency_shutdown\n",
        ] {
            assert_eq!(
                SystemHealth::from_text(text),
                SystemHealth::EmergencyShutdown,
                "{text:?}"
            );
            assert_eq!(SystemHealth::EmergencyShutdown, text, "{text:?}");
        }
        assert_eq!(HealthStatus::from_text(" healthy "), HealthStatus::Healthy);
        assert_ne!(
            SystemHealth::from_text("emergencyshutdown"),
            SystemHealth::EmergencyShutdown
        );
    }

    #[test]
    fn an_unknown_value_keeps_its_raw_text_but_compares_folded() {
        let sent = SystemHealth::from_text(" Not-Ready ");
        assert_eq!(sent, SystemHealth::Other(" Not-Ready ".into()));
        assert_eq!(sent.to_string(), " Not-Ready ");
        assert_eq!(sent, SystemHealth::Other("not_ready".into()));
        assert_eq!(sent, "NOT READY");
        assert_ne!(sent, SystemHealth::Other("not ready yet".into()));
    }

    #[test]
    fn values_equal_by_eq_hash_equal() {
        use std::collections::HashSet;
        let set: HashSet<SystemHealth> = [
            SystemHealth::Other("Recovering".into()),
            SystemHealth::Other("RECOVERING ".into()),
            SystemHealth::Other("not-ready".into()),
            SystemHealth::Other("NOT_READY".into()),
            SystemHealth::Healthy,
            SystemHealth::Other("healthy".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 3, "{set:?}");
        assert!(set.contains(&SystemHealth::from_text("recovering")));
        assert!(set.contains(&SystemHealth::from_text("Not Ready")));
    }

    #[test]
    fn a_non_string_is_an_error() {
        assert!(serde_json::from_str::<HealthStatus>("3").is_err());
    }
}
